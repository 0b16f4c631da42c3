import { KEY_TAG_LENGTH, KeyTagger, type KeyTagOptions } from './key/key-tag.js';
import {
  assertValidPrefix,
  bodyLengthFor,
  CHECKSUM_LENGTH,
  DEFAULT_ENTROPY_BITS,
  MAX_KEY_LENGTH,
} from './key/key-format.js';
import { validateEntropyBits } from './policies/api-key.input.js';
import {
  resolveCacheOptions,
  type ApiKeyCacheOptions,
  type ResolvedApiKeyCacheOptions,
} from './cache/cache.options.js';
import { ApiKeyConfigurationError } from './api-key.errors.js';
import { assertNoMovedOption } from './module/moved-options.js';
import {
  rateLimitFault,
  validateRateLimit,
  type RateLimit,
  type RateLimitBackend,
  type RateLimitStorage,
} from './policies/rate-limit.js';

/** Runtime options of `ApiKeyModule.forRoot()` / `forRootAsync()`. Every field is optional. */
export interface ApiKeyModuleOptions {
  /** Key prefix, e.g. `sk` or `acme_live`. Keys with another prefix are rejected unread. Default `sk`. */
  prefix?: string;
  /** Entropy of new keys' bodies in bits, at least 128. Default 256 (43 base62 characters). */
  entropyBits?: number;
  /** Read `Authorization: Bearer <key>`. Default `true`. */
  bearer?: boolean;
  /** A header to read the key from, or `false` for none. Default `x-api-key`. */
  header?: string | false;
  /** The realm of `WWW-Authenticate` challenges. Default `api`. */
  realm?: string;
  /** Seconds in the `Retry-After` header of 503 responses when the database cannot answer. Default 5. */
  retryAfterSeconds?: number;
  /** How often `lastUsedAt` is written, in ms; at most one write per key per interval. `0` turns it off. Default 60000. */
  lastUsedIntervalMs?: number;
  /**
   * Environments marked in the prefix, e.g. `['live', 'test']` gives keys
   * `sk_live_...` and `sk_test_...`; the principal carries `environment`.
   * The first is the default of `issue`. Default: none (plain `sk_...` keys).
   */
  environments?: string[];
  /** Lifetime of keys issued without `expiresAt`, in ms. Default: no expiry. */
  defaultLifetimeMs?: number;
  /** Longest lifetime a key may be issued with, in ms; keys must then expire. Default: unlimited. */
  maxLifetimeMs?: number;
  /**
   * Let concurrent requests with the same key share one in-flight lookup (a
   * burst on a hot key costs one query). Off by default: a request that joins
   * a lookup sent just before a revocation committed sees the old state, so
   * "revoked on the next request" holds only up to one lookup's round trip.
   */
  coalesceLookups?: boolean;
  /**
   * Default rate limit for keys without their own, e.g. `{ limit: 100, windowMs: 60_000 }`, counted per
   * rotation family (a key and its successors share one budget). Needs `rate-limiter-flexible`
   * (unless `rateLimitStorage` is given). Default none.
   */
  rateLimit?: RateLimit;
  /**
   * Where rate-limit hits are counted, through `rate-limiter-flexible`: `'memory'` (this process),
   * `{ redis: ioredisClient }` or `'database'` (the key database) to share limits across instances.
   * Default `'memory'`. See docs/rate-limits.md.
   */
  rateLimitBackend?: RateLimitBackend;
  /**
   * Count in a `@nestjs/throttler` storage instead (a host's existing one). Such storages keep one
   * timestamp per hit: cost and memory grow with the hits in the window. Not with `rateLimitBackend`.
   */
  rateLimitStorage?: RateLimitStorage;
  /**
   * A limit per owner (`ownerId`), counted in addition to each key's, so issuing more keys does not
   * multiply an owner's allowance, e.g. `{ limit: 1000, windowMs: 60_000 }`. Keys without an owner are
   * not owner-limited. Default none.
   */
  ownerRateLimit?: RateLimit;
  /** Refused uses of revoked/expired/exhausted keys are logged to the audit table at most once per key per interval (ms). `0` turns it off. Default 60000. */
  auditUseIntervalMs?: number;
  /**
   * An in-process cache of key lookups, invalidated at once by this
   * instance's changes and through a bus on other instances (PostgreSQL
   * LISTEN/NOTIFY by default on PostgreSQL). Default: none, every request
   * reads the database.
   */
  cache?: ApiKeyCacheOptions;
  /**
   * A keyed tag in every new key (HMAC-SHA-256 under a server secret, versioned),
   * so forged keys are refused before any database access. Keys issued before
   * it was turned on keep working while `acceptUntagged` is `true` (the default).
   * Default: none (forged keys with a valid checksum cost one indexed read).
   */
  keyTag?: KeyTagOptions;
  /**
   * Where the guard's read goes on a DataSource with TypeORM `replication`:
   * `'primary'` (default: revocation is seen on the next request) or
   * `'replica'` (opt-in: a revoked key passes for as long as the replica lags).
   * Without replication there is one database and this changes nothing.
   */
  readFrom?: 'primary' | 'replica';
  /**
   * With `readFrom: 'replica'` on PostgreSQL: the most replica lag (ms) the guard's reads accept. Once per
   * `replicaLagCheckIntervalMs` (never per request) the lag is measured from WAL positions; while it is over
   * this bound, or the replica cannot be reached, lookups go to the primary (one log line per switch; the
   * count is `LookupStats.replicaLag`). A revoked key then passes at most about `maxReplicaLagMs +
   * replicaLagCheckIntervalMs` after the revocation committed. Default: none (the replica is read whatever
   * its lag). See docs/production-databases.md.
   */
  maxReplicaLagMs?: number;
  /** How often `maxReplicaLagMs` measures the lag, in ms. Default 1000. */
  replicaLagCheckIntervalMs?: number;
  /**
   * Send the guard's lookups that start in one turn of the event loop as one
   * statement (`hash = ANY($1)` / `hash IN (...)`), after each of them was
   * asked for, so no request sees a state older than its arrival. Default:
   * on PostgreSQL and MySQL/MariaDB, not on better-sqlite3 (where each
   * request's read answers synchronously). With `false` every request runs
   * its own statement.
   */
  batchLookups?: boolean;
  // Guard: optional mode and log aggregation.
  /**
   * Every guarded route is optional, as with `@OptionalApiKey()`: a request with no key passes
   * without a principal (for the next guard or the handler); a key that is sent is still checked. Default `false`.
   */
  optional?: boolean;
  /**
   * The guard's rejection and store-failure lines are aggregated per key id and reason (one bucket
   * for all unknown keys) over this many ms: the first line at once, then one summary with the count.
   * `0` writes every line. Default 60000.
   */
  logIntervalMs?: number;
  /**
   * The most live keys (not revoked, rotated away or expired) one owner may
   * hold; `issue` past it is an `ApiKeyLimitError` (409). Keys without an
   * owner are not counted. Default: no limit.
   */
  maxKeysPerOwner?: number;
  // Boot checks:
  /**
   * Check at boot that the key tables and the columns the library reads exist
   * (one `SELECT ... WHERE 1 = 0` per table, at most 5 s), and fail the boot
   * with the migrations to run if not. `false` for hosts that migrate after
   * the app starts. Default `true`.
   */
  schemaCheck?: boolean;
  /**
   * Record the key format (prefix, environments, lifetimes, entropy, the tag's
   * version and check value; never a secret) in the audit table at boot when it
   * changed, for the operator CLI, which then issues keys this app accepts.
   * A failed write logs a warning and the app starts. `false` for a setup that
   * must not write at boot (a read-only database user, or a second setup on the
   * same tables whose format is not the one to issue with). Default `true`.
   */
  recordKeyFormat?: boolean;
  /**
   * Check at boot that every handler carrying the library's decorators (`@Scopes`, `@AnyScope`, `@Cost`,
   * `@OptionalApiKey`, `@CurrentApiKey`) is covered by an API key guard (global, or `@UseGuards` on its class or
   * method), and fail the boot naming the others: without a guard their scopes protect nothing. `false` for hosts
   * whose own guard runs `ApiKeyGuard`. Default `true`.
   */
  routeCheck?: boolean;
}

/** Options after defaults are applied and values checked. */
export class ResolvedApiKeyOptions {
  readonly prefix: string = 'sk';
  readonly entropyBits: number = DEFAULT_ENTROPY_BITS;
  readonly bearer: boolean = true;
  readonly header: string | false = 'x-api-key';
  readonly realm: string = 'api';
  readonly retryAfterSeconds: number = 5;
  readonly lastUsedIntervalMs: number = 60_000;
  readonly environments: readonly string[] = [];
  readonly defaultLifetimeMs: number | undefined = undefined;
  readonly maxLifetimeMs: number | undefined = undefined;
  readonly auditUseIntervalMs: number = 60_000;
  readonly coalesceLookups: boolean = false;
  readonly rateLimit: RateLimit | undefined = undefined;
  readonly rateLimitStorage: RateLimitStorage | undefined = undefined;
  readonly rateLimitBackend: RateLimitBackend = 'memory';
  readonly ownerRateLimit: RateLimit | undefined = undefined;
  /** The lookup cache's settings, or `undefined` for no cache. */
  readonly cache: ResolvedApiKeyCacheOptions | undefined = undefined;
  readonly readFrom: 'primary' | 'replica' = 'primary';
  readonly maxReplicaLagMs: number | undefined = undefined;
  readonly replicaLagCheckIntervalMs: number = 1000;
  readonly batchLookups: boolean | undefined = undefined;
  /** Makes and checks the keyed tag, or `undefined` without the `keyTag` option. */
  readonly keyTagger: KeyTagger | undefined;
  readonly optional: boolean = false;
  readonly logIntervalMs: number = 60_000;
  readonly maxKeysPerOwner: number | undefined = undefined;
  readonly schemaCheck: boolean = true;
  readonly routeCheck: boolean = true;
  readonly recordKeyFormat: boolean = true;
  /** Every prefix a presented key may carry, mapped to its environment (`null` without environments). */
  readonly prefixes: ReadonlyMap<string, string | null>;

  /** @throws ApiKeyConfigurationError naming the bad option (`option`: `cache.ttlMs`, `rateLimit.windowMs`...) */
  constructor(options: ApiKeyModuleOptions = {}) {
    assertNoMovedOption(options);
    // The tag's secrets stay inside the KeyTagger, off this object.
    const defined = Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && k !== 'keyTag'));
    Object.assign(this, defined);
    assertValidPrefix(this.prefix);
    validateEntropyBits(this.entropyBits);
    if (this.header !== false && !/^[A-Za-z0-9-]+$/.test(this.header)) {
      throw bad('header', `header must be a header name or false; got ${JSON.stringify(this.header)}`);
    }
    this.header = this.header === false ? false : this.header.toLowerCase();
    if (!this.bearer && this.header === false)
      throw bad('bearer', 'enable bearer or header: there is no way to send a key');
    if (!/^[\x20-\x7e]*$/.test(this.realm) || /["\\]/.test(this.realm)) {
      throw bad('realm', 'realm must be printable ASCII without quotes or backslashes');
    }
    if (!Number.isInteger(this.retryAfterSeconds) || this.retryAfterSeconds < 0) {
      throw bad('retryAfterSeconds', 'retryAfterSeconds must be a non-negative integer');
    }
    for (const name of ['lastUsedIntervalMs', 'auditUseIntervalMs', 'logIntervalMs'] as const) {
      if (!Number.isFinite(this[name]) || this[name] < 0) throw bad(name, `${name} must be a non-negative number`);
    }
    for (const name of ['defaultLifetimeMs', 'maxLifetimeMs'] as const) {
      const value = this[name];
      if (value !== undefined && !(Number.isFinite(value) && value > 0))
        throw bad(name, `${name} must be a positive number of ms`);
    }
    if (this.defaultLifetimeMs && this.maxLifetimeMs && this.defaultLifetimeMs > this.maxLifetimeMs) {
      throw bad('defaultLifetimeMs', 'defaultLifetimeMs must not exceed maxLifetimeMs');
    }
    const badEnvironment = Array.isArray(this.environments)
      ? this.environments.findIndex((env) => !/^[a-z0-9]{1,16}$/.test(env))
      : undefined;
    if (badEnvironment !== -1) {
      throw bad(
        badEnvironment === undefined ? 'environments' : `environments[${badEnvironment}]`,
        'environments must be short lower-case names of letters and digits, e.g. ["live", "test"]',
      );
    }
    this.prefixes = new Map(
      this.environments.length === 0
        ? [[this.prefix, null]]
        : this.environments.map((env) => [`${this.prefix}_${env}`, env]),
    );
    for (const prefix of this.prefixes.keys()) assertValidPrefix(prefix);
    this.rateLimit = checkedRateLimit('rateLimit', this.rateLimit, (message) => message);
    // Rate limits: the owner limit, the backend.
    this.ownerRateLimit = checkedRateLimit(
      'ownerRateLimit',
      this.ownerRateLimit,
      (message) => `ownerRateLimit: ${message.replace(/^rateLimit /, '')}`,
    );
    const backend = this.rateLimitBackend as unknown;
    const redis = typeof backend === 'object' && backend !== null ? (backend as { redis?: unknown }).redis : undefined;
    if (backend !== 'memory' && backend !== 'database' && (typeof redis !== 'object' || redis === null)) {
      throw bad('rateLimitBackend', "rateLimitBackend must be 'memory', 'database' or { redis: <ioredis client> }");
    }
    if (this.rateLimitStorage && options.rateLimitBackend !== undefined) {
      throw bad(
        'rateLimitStorage',
        'give rateLimitBackend or rateLimitStorage (a @nestjs/throttler storage), not both',
      );
    }
    this.cache = resolveCacheOptions(options.cache);
    if (this.batchLookups !== undefined && typeof this.batchLookups !== 'boolean') {
      throw bad('batchLookups', 'batchLookups must be a boolean');
    }
    if (this.readFrom !== 'primary' && this.readFrom !== 'replica') {
      throw bad('readFrom', `readFrom must be 'primary' or 'replica'; got ${JSON.stringify(this.readFrom)}`);
    }
    for (const name of ['maxReplicaLagMs', 'replicaLagCheckIntervalMs'] as const) {
      const value = this[name];
      if (value !== undefined && !(Number.isInteger(value) && value >= 1))
        throw bad(name, `${name} must be a positive integer (ms)`);
    }
    if (this.maxReplicaLagMs !== undefined && this.readFrom !== 'replica')
      throw bad('maxReplicaLagMs', "maxReplicaLagMs bounds replica reads: it needs readFrom: 'replica'");
    this.keyTagger =
      options.keyTag === undefined ? undefined : new KeyTagger(options.keyTag, bodyLengthFor(this.entropyBits));
    // The longest new key must parse: found here, not at the first issue.
    const body = bodyLengthFor(this.entropyBits) + (this.keyTagger ? KEY_TAG_LENGTH : 0) + CHECKSUM_LENGTH;
    if (Math.max(...[...this.prefixes.keys()].map((prefix) => prefix.length + 1 + body)) > MAX_KEY_LENGTH)
      throw bad('entropyBits', `prefix and entropyBits give keys longer than ${MAX_KEY_LENGTH} characters`);
    if (typeof this.optional !== 'boolean') throw bad('optional', 'optional must be a boolean');
    for (const name of ['schemaCheck', 'routeCheck', 'recordKeyFormat'] as const)
      if (typeof this[name] !== 'boolean') throw bad(name, `${name} must be a boolean`);
    if (this.maxKeysPerOwner !== undefined && !(Number.isInteger(this.maxKeysPerOwner) && this.maxKeysPerOwner >= 1))
      throw bad('maxKeysPerOwner', 'maxKeysPerOwner must be a positive integer');
  }
}

/** A bad option of the module: its path and the fix. */
function bad(option: string, message: string): ApiKeyConfigurationError {
  return new ApiKeyConfigurationError(message, option);
}

/** Checks a rate-limit option; a bad one names its field (`rateLimit.windowMs`) and keeps the check's message. */
function checkedRateLimit(
  option: 'rateLimit' | 'ownerRateLimit',
  value: unknown,
  message: (checkMessage: string) => string,
): RateLimit | undefined {
  try {
    return validateRateLimit(value) ?? undefined;
  } catch (cause) {
    const fault = rateLimitFault(value);
    throw new ApiKeyConfigurationError(message((cause as Error).message), fault ? `${option}.${fault}` : option, {
      cause,
    });
  }
}
