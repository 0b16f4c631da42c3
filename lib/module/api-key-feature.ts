import type { InjectionToken, Provider } from '@nestjs/common';
import type { ApiKeyChangeHook } from '../lifecycle/change-hook.js';
import type { ApiKeyFeatureTables } from '../storage/schema-check.js';
import type { ApiKeyLegacyKeys } from '../verification/legacy-keys.js';
import type { ApiKeyVerificationHook } from '../verification/verification-hook.js';

/** What a feature's providers and tables are built for: one `ApiKeyModule.forRoot()` setup. */
export interface ApiKeySetup {
  /** The key table (`tableName`); a feature names its own tables after it. Default `api_keys`. */
  readonly tableName: string;
  /** The TypeORM DataSource's name (`dataSource`), `undefined` for the default one. */
  readonly dataSource: string | undefined;
  /** The setup's `name`, `undefined` for an app's one unnamed setup. */
  readonly name: string | undefined;
  /**
   * The event types this setup announces: the lifecycle types, then those its features declare
   * (`ApiKeyFeature.eventTypes`). A feature that filters by type (webhooks) checks names against it.
   */
  readonly eventTypes?: readonly string[];
}

export type { ApiKeyFeatureEntity, ApiKeyFeatureTables } from '../storage/schema-check.js';

/**
 * The one extension point: what a feature brings to a key setup. A feature's entry point
 * (`nestjs-opaque-keys/<feature>`) exports a function that returns one; the host lists it in
 * `ApiKeyModule.forRoot({ features: [...] })`. The core never imports a feature: it adds the feature's
 * providers to the setup's module (where they can inject the core's providers), registers and checks its
 * entities, and calls its hooks. See docs/architecture.md, "How to add a feature".
 * @example
 * export function withAuditMirror(options: AuditMirrorOptions): ApiKeyFeature {
 *   return {
 *     name: 'audit-mirror',
 *     providers: () => [{ provide: AUDIT_MIRROR_OPTIONS, useValue: options }, AuditMirror],
 *     changeHook: AuditMirror, // implements ApiKeyChangeHook
 *   };
 * }
 */
export interface ApiKeyFeature {
  /** A short unique name (`webhooks`, `usage`); a setup takes each feature once. */
  readonly name: string;
  /** Event types the feature announces besides the lifecycle ones (threshold alerts: `credits_low`, ...). */
  readonly eventTypes?: readonly string[];
  /** Providers added to the setup's module. */
  providers?(setup: ApiKeySetup): Provider[];
  /** Tokens of those providers the setup exports (an unnamed setup only; a named one exports its named tokens). */
  readonly exports?: readonly InjectionToken[];
  /** The feature's tables, if it has any. */
  readonly tables?: ApiKeyFeatureTables;
  /** A provider (one of `providers`) that hears committed changes. */
  readonly changeHook?: InjectionToken<ApiKeyChangeHook>;
  /** A provider (one of `providers`) that hears how each request with a key ended. */
  readonly verificationHook?: InjectionToken<ApiKeyVerificationHook>;
  /**
   * A provider (one of `providers`) that accepts keys of other systems' formats for keys imported from them
   * (consulted only for keys the setup's own format refuses). One feature per setup may bring it.
   */
  readonly legacyKeys?: InjectionToken<ApiKeyLegacyKeys>;
}
