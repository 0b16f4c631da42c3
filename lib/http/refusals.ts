import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  type Logger,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { ApiKeyStoreUnavailableError } from '../api-key.errors.js';
import type { RateLimitDecision } from '../policies/rate-limit.js';
import type { ApiKeyRejection } from '../verification/api-key.principal.js';

/**
 * A refusal made without a stack trace: it is an answer to the client, not a
 * fault of the app (Nest logs no HttpException), and capturing the stack of a
 * Nest request is most of what making one costs. Each refusal is still a new
 * object.
 */
function withoutStack<T extends HttpException>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** 400: two different keys in one request. */
export function conflictingKeys(): HttpException {
  return withoutStack(() => new BadRequestException('Send one API key, not two different ones'));
}

/** 401: no key where one is required. */
export function missingKey(): HttpException {
  return withoutStack(() => new UnauthorizedException('API key required'));
}

/** 401: the one answer for every invalid key (unknown, malformed, foreign, revoked, expired, disabled, exhausted). */
export function invalidKey(): HttpException {
  return withoutStack(() => new UnauthorizedException('Invalid API key'));
}

/** 403: the route's scope requirement is unmet. */
export function insufficientScope(): HttpException {
  return withoutStack(() => new ForbiddenException('Insufficient scope'));
}

/** 403: the key's IP allowlist refuses the address (without telling the allowlist). */
export function addressNotAllowed(): HttpException {
  return withoutStack(() => new ForbiddenException('This API key may not be used from this address'));
}

/** 503: the key store cannot answer; never a pass. */
export function storeUnavailable(): HttpException {
  return withoutStack(() => new ServiceUnavailableException('Authentication is temporarily unavailable'));
}

/** A line for the guard's aggregated log: its level, its bucket, and a message without client text. */
export interface GuardLogLine {
  readonly level: 'debug' | 'warn' | 'error';
  readonly bucket: string;
  readonly message: string;
}

/**
 * The log line of a refused key. Revoked/expired keys point at a real, known
 * key: worth a warning, one bucket per key and reason. Unknown, malformed and
 * foreign ones are noise under a scan: debug, one bucket per reason.
 */
export function refusedKeyLine(refusal: { readonly reason: ApiKeyRejection; readonly keyId?: string }): GuardLogLine {
  if (refusal.keyId) {
    const message = `rejected API key ${refusal.keyId}: ${refusal.reason}`;
    return { level: 'warn', bucket: `${refusal.keyId}:${refusal.reason}`, message };
  }
  return (UNKNOWN_KEY_LINES[refusal.reason] ??= Object.freeze({
    level: 'debug',
    bucket: refusal.reason,
    message: `rejected API key: ${refusal.reason}`,
  }));
}

/** The log lines of refusals of no known key, one per reason: made once. */
const UNKNOWN_KEY_LINES: Partial<Record<ApiKeyRejection, GuardLogLine>> = {};

/**
 * The log line of a key its IP allowlist refused. From an address outside the
 * list: debug (a stolen key tried from elsewhere, or a client's slip). On a
 * transport that gives no peer address (`transport` named): a warning, as the
 * key cannot work there at all, which its owner or the operator must know.
 * One bucket per key and case; the line names neither the address nor the list.
 */
export function refusedAddressLine(keyId: string, transport?: string): GuardLogLine {
  if (transport === undefined) {
    return { level: 'debug', bucket: `${keyId}:address`, message: `refused API key ${keyId}: address not allowed` };
  }
  return {
    level: 'warn',
    bucket: `${keyId}:no-address`,
    message: `refused API key ${keyId}: it has an IP allowlist, and the ${transport} transport gives no peer address to check it against`,
  };
}

/** The log line of a store failure: one bucket per kind (the driver's error code, or the error's name). */
export function storeFailureLine(error: ApiKeyStoreUnavailableError): GuardLogLine {
  const cause = error.cause as (Error & { code?: unknown }) | undefined;
  const kind = typeof cause?.code === 'string' ? cause.code : (cause?.name ?? error.name);
  return {
    level: 'error',
    bucket: `store:${kind}`,
    message: `key store unavailable: ${cause?.message ?? error.message}`,
  };
}

/** The `RateLimit-*` headers of a rate-limit decision, in the order the guard sets them. */
export function rateLimitHeaders(rate: RateLimitDecision): [name: string, value: string][] {
  return [
    ['RateLimit-Policy', `${rate.limit};w=${rate.windowSeconds}`],
    ['RateLimit-Limit', String(rate.limit)],
    ['RateLimit-Remaining', String(rate.remaining)],
    ['RateLimit-Reset', String(rate.resetSeconds)],
  ];
}

/** A 429 in Nest's error shape: a rate limit reached, or credits that ran out until a refill. */
export function tooManyRequests(message: string): HttpException {
  return withoutStack(() => new HttpException({ statusCode: 429, message, error: 'Too Many Requests' }, 429));
}

/**
 * Sets a header on the response challenge and limit headers go on: Fastify's
 * `reply.header`, Node's `setHeader`; nothing where there is no response (a
 * WebSocket or RPC context).
 */
export function setResponseHeader(response: Record<string, any> | undefined, name: string, value: string): void {
  if (typeof response?.header === 'function') response.header(name, value);
  else if (typeof response?.setHeader === 'function') response.setHeader(name, value);
}

type Level = 'debug' | 'warn' | 'error';

interface Bucket {
  readonly level: Level;
  readonly message: string;
  repeats: number;
}

/** Buckets kept per interval at most; past it, lines share one overflow bucket per level. */
export const MAX_LOG_BUCKETS = 1000;

/**
 * Aggregates the guard's repeated log lines, so log volume is not in the
 * client's hands: the first line of a bucket (a key id and a reason, one
 * bucket for all unknown keys, one per kind of store failure) is written at
 * once, the repeats within `intervalMs` are counted, and one summary line per
 * bucket reports them when the interval ends. Memory is bounded: at most
 * {@link MAX_LOG_BUCKETS} buckets per interval. `intervalMs: 0` writes every line.
 */
export class RejectionLog {
  private readonly buckets = new Map<string, Bucket>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly logger: Pick<Logger, Level>,
    private readonly intervalMs: number,
  ) {}

  /** Notes one occurrence of `bucket`; `message` must carry no client-controlled text. */
  note(level: Level, bucket: string, message: string): void {
    if (this.intervalMs <= 0) return this.logger[level](message);
    let id = `${level}:${bucket}`;
    if (!this.buckets.has(id) && this.buckets.size >= MAX_LOG_BUCKETS) {
      id = `${level}:overflow`;
      message = `more ${level} lines of other kinds (over ${MAX_LOG_BUCKETS} kinds in ${this.intervalMs} ms), e.g. ${message}`;
    }
    const seen = this.buckets.get(id);
    if (seen) {
      seen.repeats++;
      return;
    }
    this.buckets.set(id, { level, message, repeats: 0 });
    this.logger[level](message);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs).unref();
  }

  /** Writes the summary of every bucket that repeated, and starts a new interval. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const seconds = Math.round(this.intervalMs / 100) / 10;
    for (const { level, message, repeats } of this.buckets.values()) {
      if (repeats > 0) this.logger[level](`${message} (${repeats} more in the last ${seconds} s)`);
    }
    this.buckets.clear();
  }
}

/** RFC 6750 error codes used in `WWW-Authenticate` challenges. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/**
 * Builds an RFC 6750 `WWW-Authenticate` value, e.g.
 * `Bearer realm="api", error="insufficient_scope", scope="orders:read"`.
 * With no error code it is the bare challenge for a request without credentials.
 */
export function bearerChallenge(realm: string, error?: BearerErrorCode, scope?: string): string {
  let value = `Bearer realm="${realm}"`;
  if (error) value += `, error="${error}"`;
  if (scope) value += `, scope="${scope}"`;
  return value;
}
