import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { ApiKeyStoreUnavailableError } from '../api-key.errors.js';
import type { RateLimitDecision } from '../policies/rate-limit.js';
import type { ApiKeyRejection } from '../verification/api-key.principal.js';

/** 400: two different keys in one request. */
export function conflictingKeys(): HttpException {
  return new BadRequestException('Send one API key, not two different ones');
}

/** 401: no key where one is required. */
export function missingKey(): HttpException {
  return new UnauthorizedException('API key required');
}

/** 401: the one answer for every invalid key (unknown, malformed, foreign, revoked, expired, disabled, exhausted). */
export function invalidKey(): HttpException {
  return new UnauthorizedException('Invalid API key');
}

/** 403: the route's scope requirement is unmet. */
export function insufficientScope(): HttpException {
  return new ForbiddenException('Insufficient scope');
}

/** 403: the key's IP allowlist refuses the address (without telling the allowlist). */
export function addressNotAllowed(): HttpException {
  return new ForbiddenException('This API key may not be used from this address');
}

/** 503: the key store cannot answer; never a pass. */
export function storeUnavailable(): HttpException {
  return new ServiceUnavailableException('Authentication is temporarily unavailable');
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
  return { level: 'debug', bucket: refusal.reason, message: `rejected API key: ${refusal.reason}` };
}

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
  return new HttpException({ statusCode: 429, message, error: 'Too Many Requests' }, 429);
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
