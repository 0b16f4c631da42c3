import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import {
  API_KEY_LIFECYCLE_EVENT_TYPES,
  type ApiKeyLifecycleEventType,
} from '../../lifecycle/api-key-lifecycle.event.js';

/** The injection token of the resolved {@link ResolvedWebhookOptions}. */
export const API_KEY_WEBHOOK_OPTIONS = Symbol('nestjs-opaque-keys:webhook-options');

/** One receiver of webhooks (`webhooks.endpoints`). */
export interface ApiKeyWebhookEndpoint {
  /** Where deliveries are POSTed: `https://...`, or `http://localhost` / `127.0.0.1` / `[::1]` (else see `allowInsecureUrls`). */
  url: string;
  /**
   * The Standard Webhooks signing secret, `whsec_` + base64 of 24 to 64 random bytes, e.g.
   * `'whsec_' + randomBytes(32).toString('base64')`. An array signs with each (rotation: receivers accept either).
   */
  secret: string | string[];
  /**
   * The event types this endpoint gets: lifecycle types, and those the setup's other features announce (threshold
   * alerts' `credits_low`, ...). Default: every event.
   */
  events?: (ApiKeyLifecycleEventType | (string & Record<never, never>))[];
}

/** Outgoing webhooks (`withWebhooks(options)`). See docs/webhooks.md. */
export interface ApiKeyWebhookOptions {
  endpoints: ApiKeyWebhookEndpoint[];
  /** Attempts per delivery before it is marked `failed`. Default 10. */
  maxAttempts?: number;
  /** How long one attempt may take, connect to last byte, in ms. Default 10000. */
  timeoutMs?: number;
  /** The delay before the first retry, in ms; doubled for each later one (with jitter). Default 5000. */
  retryDelayMs?: number;
  /** The longest delay between two attempts, in ms. Default 3600000 (one hour). */
  maxRetryDelayMs?: number;
  /** How often each instance looks for due deliveries besides the kick after each commit, in ms. Default 5000. */
  pollIntervalMs?: number;
  /** Deliveries one instance sends at once. Default 10. */
  concurrency?: number;
  /** Delivered rows older than this many days are deleted (checked hourly). `0` keeps them. Default 7. */
  retentionDays?: number;
  /** Allow `http://` URLs to other hosts than localhost (test networks only: bodies and signatures travel in clear). Default `false`. */
  allowInsecureUrls?: boolean;
}

/** A checked endpoint; its secrets are not enumerable (kept out of logs and `JSON.stringify`). */
export interface ResolvedWebhookEndpoint {
  readonly url: string;
  /** The event types it gets, or `null` for all. */
  readonly events: ReadonlySet<string> | null;
  readonly secrets: readonly string[];
}

/** Webhook options with defaults applied. */
export interface ResolvedWebhookOptions {
  readonly endpoints: readonly ResolvedWebhookEndpoint[];
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly pollIntervalMs: number;
  readonly concurrency: number;
  readonly retentionDays: number;
}

const LOCAL_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);
const SECRET_HINT = "'whsec_' + crypto.randomBytes(32).toString('base64')";

/** A bad webhook option: its path and the fix. */
function bad(option: string, message: string): ApiKeyConfigurationError {
  return new ApiKeyConfigurationError(message, option);
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  const given = value ?? fallback;
  if (typeof given !== 'number' || !Number.isInteger(given) || given < min || given > max)
    throw bad(`webhooks.${name}`, `webhooks.${name} must be an integer from ${min} to ${max}; got ${String(value)}`);
  return given;
}

/** Checks one Standard Webhooks secret: `whsec_` + base64 of 24 to 64 bytes. */
function checkSecret(where: string, secret: unknown): string {
  const body = typeof secret === 'string' && secret.startsWith('whsec_') ? secret.slice(6) : undefined;
  const bytes = body !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(body) ? Buffer.from(body, 'base64').length : 0;
  if (bytes < 24 || bytes > 64)
    throw bad(
      `${where}.secret`,
      `${where}.secret must be a Standard Webhooks secret: 'whsec_' then base64 of 24 to 64 random bytes, ` +
        `e.g. ${SECRET_HINT} (keep it in your secret store)`,
    );
  return secret as string;
}

function checkUrl(where: string, value: unknown, allowInsecure: boolean): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw bad(
      `${where}.url`,
      `${where}.url must be an absolute URL such as https://hooks.example.com/api-keys; got ${JSON.stringify(value)}`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw bad(`${where}.url`, `${where}.url must be https:// (got ${url.protocol})`);
  if (url.protocol === 'http:' && !LOCAL_HOSTS.has(url.hostname) && !allowInsecure)
    throw bad(
      `${where}.url`,
      `${where}.url must be https:// (http:// is allowed for localhost only); ` +
        'set webhooks.allowInsecureUrls: true to send in clear on a test network',
    );
  if (url.username || url.password)
    throw bad(
      `${where}.url`,
      `${where}.url must not carry credentials (they would be stored in every delivery row); the signature authenticates the sender`,
    );
  const text = String(value);
  if (text.length > 1024) throw bad(`${where}.url`, `${where}.url must be at most 1024 characters`);
  return text;
}

function endpointOf(
  given: unknown,
  index: number,
  allowInsecure: boolean,
  known: ReadonlySet<string>,
): ResolvedWebhookEndpoint {
  const where = `webhooks.endpoints[${index}]`;
  if (typeof given !== 'object' || given === null) throw bad(where, `${where} must be { url, secret, events? }`);
  const { url, secret, events } = given as ApiKeyWebhookEndpoint;
  const checkedUrl = checkUrl(where, url, allowInsecure);
  const secrets = (Array.isArray(secret) ? secret : [secret]).map((s) => checkSecret(where, s));
  if (secrets.length === 0)
    throw bad(`${where}.secret`, `${where}.secret must be a secret or a non-empty array of them`);
  if (events !== undefined) {
    if (!Array.isArray(events) || events.length === 0)
      throw bad(
        `${where}.events`,
        `${where}.events must be a non-empty array of event types, or left out for all of them`,
      );
    const unknown = events.filter((type) => !known.has(type));
    if (unknown.length)
      throw bad(
        `${where}.events[${events.indexOf(unknown[0])}]`,
        `${where}.events has unknown type(s) ${unknown.map((t) => JSON.stringify(t)).join(', ')}; known: ${[...known].join(', ')}`,
      );
  }
  const endpoint = { url: checkedUrl, events: events ? new Set<string>(events) : null } as ResolvedWebhookEndpoint;
  Object.defineProperty(endpoint, 'secrets', { value: Object.freeze(secrets), enumerable: false });
  return Object.freeze(endpoint);
}

/**
 * Applies defaults and checks every value.
 * @throws ApiKeyConfigurationError naming the fix and the option (`webhooks.endpoints[0].url`)
 */
export function resolveWebhookOptions(
  options: ApiKeyWebhookOptions,
  eventTypes: readonly string[] = API_KEY_LIFECYCLE_EVENT_TYPES,
): ResolvedWebhookOptions {
  const known: ReadonlySet<string> = new Set(eventTypes);
  if (
    typeof options !== 'object' ||
    options === null ||
    !Array.isArray(options.endpoints) ||
    options.endpoints.length === 0
  )
    throw bad(
      typeof options === 'object' && options !== null ? 'webhooks.endpoints' : 'webhooks',
      'webhooks must be { endpoints: [{ url, secret }] } with at least one endpoint',
    );
  const allowInsecure = options.allowInsecureUrls ?? false;
  if (typeof allowInsecure !== 'boolean')
    throw bad('webhooks.allowInsecureUrls', 'webhooks.allowInsecureUrls must be a boolean');
  const endpoints = options.endpoints.map((endpoint, index) => endpointOf(endpoint, index, allowInsecure, known));
  const urls = endpoints.map((endpoint) => endpoint.url);
  const twice = urls.findIndex((url, index) => urls.indexOf(url) !== index);
  if (twice !== -1)
    throw bad(
      `webhooks.endpoints[${twice}]`,
      `webhooks.endpoints lists ${urls[twice]} twice: give it once, with every event type it wants`,
    );
  const retryDelayMs = integer('retryDelayMs', options.retryDelayMs, 5000, 1, 86_400_000);
  const maxRetryDelayMs = integer(
    'maxRetryDelayMs',
    options.maxRetryDelayMs,
    Math.max(3_600_000, retryDelayMs),
    retryDelayMs,
    7 * 86_400_000,
  );
  return Object.freeze({
    endpoints: Object.freeze(endpoints),
    maxAttempts: integer('maxAttempts', options.maxAttempts, 10, 1, 100),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 10_000, 10, 120_000),
    retryDelayMs,
    maxRetryDelayMs,
    pollIntervalMs: integer('pollIntervalMs', options.pollIntervalMs, 5000, 10, 3_600_000),
    concurrency: integer('concurrency', options.concurrency, 10, 1, 100),
    retentionDays: integer('retentionDays', options.retentionDays, 7, 0, 3650),
  });
}

/**
 * The delay before attempt `attempt + 1` after `attempt` failed: `retryDelayMs`
 * doubled per attempt, capped at `maxRetryDelayMs`, then "equal jitter"
 * (between half and all of it), so that receivers coming back are not hit by
 * every instance's retries at once.
 */
export function retryDelay(options: ResolvedWebhookOptions, attempt: number, random: number = Math.random()): number {
  const exponential = Math.min(options.maxRetryDelayMs, options.retryDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random);
}
