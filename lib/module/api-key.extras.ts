import type { ApiKeyFeature } from './api-key-feature.js';

/** Static options, fixed when the module is defined (they shape providers and the entity). */
export interface ApiKeyModuleExtras {
  /** Register the module globally so `@UseGuards(ApiKeyGuard)` works in every module. Default `true`. */
  isGlobal?: boolean;
  /** Install `ApiKeyGuard` as a global guard (`APP_GUARD`); `@Public()` opts routes out. Default `false`. */
  globalGuard?: boolean;
  /** The name of the host's TypeORM DataSource, for apps with several. Default: the default DataSource. */
  dataSource?: string;
  /** The table holding the keys. Default `api_keys`. */
  tableName?: string;
  /**
   * Names a second (third...) key setup in one app: it then exports only
   * `ApiKeyGuardFor(name)`'s and `@InjectApiKeyService(name)`'s tokens, never the
   * class tokens of the unnamed setup. Default: none (the app's one setup).
   */
  name?: string;
  /**
   * Features switched on in this setup, each from its own entry point, e.g.
   * `features: [withUsage(), withWebhooks({ endpoints })]`. Default none: the core alone.
   */
  features?: ApiKeyFeature[];
}
