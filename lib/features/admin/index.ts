/**
 * `nestjs-opaque-keys/admin`: a key-management console (JSON API and page)
 * for a Nest app. A separate entry point, so the main entry never loads it.
 */
export { ApiKeyAdminModule } from './admin.module.js';
export { ResolvedAdminOptions, type ApiKeyAdminOptions, type AdminIdentity } from './admin.options.js';
export { actingOptions, type AdminActingOptions, type AdminGrant } from './admin-acting.js';
export {
  ADMIN_CONTENT_SECURITY_POLICY,
  ADMIN_SECURITY_HEADERS,
  AdminSecurityHeadersMiddleware,
} from './admin-security.headers.js';
export {
  createAdminApiController,
  type AdminSession,
  type AdminEventPage,
  type AdminKeyDetails,
} from './admin-api.controller.js';
export {
  createAdminPageController,
  adminPageHtml,
  shippedAssetsDir,
  ADMIN_ASSETS,
  ADMIN_ICON_SVG,
  type AdminSignIn,
} from './admin-page.controller.js';
export {
  keyStatus,
  parseAdminKeyQuery,
  searchKeys,
  EXPIRING_SOON_MS,
  ADMIN_SCAN_LIMIT,
  type AdminKeyQuery,
  type AdminKeyPage,
  type AdminKeyRow,
  type AdminKeyStatus,
  type AdminStatusFilter,
  type AdminSortColumn,
} from './admin-key.query.js';
export { createAdminPoliciesController, type AdminOwnerPolicies } from './admin-policies.controller.js';
export { MAX_GRACE_PERIOD_SECONDS } from './admin-request.body.js';
export { adminUsageQueryOf, USAGE_PERIOD_DAYS, type AdminUsage } from './admin-usage.query.js';
