/**
 * `nestjs-opaque-keys/secret-scanning`: leaked keys revoked on report. GitHub's secret-scanning partner program
 * (signed alerts) and a generic leak-report endpoint.
 * @module
 */
export {
  createGitHubSecretScanningController,
  GITHUB_SECRET_SCANNING_ACTOR,
  MAX_GITHUB_ALERT_MATCHES,
  type GitHubSecretScanningOptions,
  type GitHubSecretScanningResult,
} from './github-secret-scanning.controller.js';
export * from './github-public-keys.js';
export { createLeakReportController, MAX_LEAK_REPORT_KEYS, type LeakReportOptions } from './leak-report.controller.js';
