import { BadRequestException } from '@nestjs/common';
import type { IssueApiKeyInput } from '../../lifecycle/api-key.record.js';
import type { ApiKeyUpdate } from '../../lifecycle/api-key.update.js';

/** The longest grace period the console offers: 30 days. */
export const MAX_GRACE_PERIOD_SECONDS = 30 * 24 * 3600;

function objectOf(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestException('send a JSON object');
  return body as Record<string, unknown>;
}

function dateOf(raw: unknown, name: string): Date | null | undefined {
  if (raw === undefined || raw === null) return raw;
  const date = typeof raw === 'string' ? new Date(raw) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new BadRequestException(`${name} must be an ISO 8601 date`);
  return date;
}

/**
 * The body of `POST <path>/api/keys`, turned into the service's input (which
 * checks every value again: name, scopes, expiry within the policy, limits).
 * @throws BadRequestException
 */
export function issueInputOf(body: unknown): Omit<IssueApiKeyInput, 'actor'> {
  const raw = objectOf(body);
  const scopes = raw.scopes ?? [];
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string')) {
    throw new BadRequestException('scopes must be an array of strings');
  }
  const ownerId = raw.ownerId === '' ? undefined : raw.ownerId;
  const rate = raw.rateLimit as { limit?: unknown; windowMs?: unknown } | null | undefined;
  if (rate !== undefined && rate !== null && (typeof rate !== 'object' || Array.isArray(rate))) {
    throw new BadRequestException('rateLimit must be { limit, windowMs }');
  }
  return {
    name: raw.name as string,
    ownerId: ownerId as string | undefined,
    scopes: scopes as string[],
    environment: raw.environment === '' ? undefined : (raw.environment as string | undefined),
    expiresAt: dateOf(raw.expiresAt, 'expiresAt'),
    metadata: raw.metadata as Record<string, unknown> | undefined,
    maxUses: raw.maxUses as number | null | undefined,
    rateLimit: rate ? { limit: rate.limit as number, windowMs: rate.windowMs as number } : undefined,
    credits: raw.credits as IssueApiKeyInput['credits'],
    allowedIps: raw.allowedIps as string[] | null | undefined,
  };
}

const UPDATE_FIELDS = ['name', 'metadata', 'expiresAt', 'rateLimit', 'allowedIps'] as const;

/**
 * The body of `PATCH <path>/api/keys/:id`: any of name, metadata, expiresAt,
 * rateLimit, allowedIps (`null` clears the last four). The service checks
 * every value again.
 * @throws BadRequestException
 */
export function updateOf(body: unknown): ApiKeyUpdate {
  const raw = objectOf(body);
  const unknown = Object.keys(raw).filter((field) => !(UPDATE_FIELDS as readonly string[]).includes(field));
  if (unknown.length > 0) {
    throw new BadRequestException(`cannot update ${unknown.join(', ')}: send any of ${UPDATE_FIELDS.join(', ')}`);
  }
  const patch: Record<string, unknown> = { ...raw };
  if ('expiresAt' in raw) patch.expiresAt = dateOf(raw.expiresAt, 'expiresAt') ?? null;
  return patch as ApiKeyUpdate;
}

/** The body of `POST <path>/api/keys/:id/credits`: `{ add: n }` or `{ set: n }`. @throws BadRequestException */
export function creditsChangeOf(body: unknown): { readonly add: number } | { readonly set: number } {
  const raw = objectOf(body);
  const keys = Object.keys(raw);
  if (keys.length !== 1 || !['add', 'set'].includes(keys[0]) || typeof raw[keys[0]] !== 'number') {
    throw new BadRequestException('send { "add": n } or { "set": n }');
  }
  return keys[0] === 'add' ? { add: raw.add as number } : { set: raw.set as number };
}

/** The scopes of `PUT <path>/api/keys/:id/scopes`. @throws BadRequestException */
export function scopesOf(body: unknown): string[] {
  const scopes = objectOf(body).scopes;
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string')) {
    throw new BadRequestException('send { "scopes": ["orders:read", ...] }');
  }
  return scopes;
}

/** The grace period of `POST <path>/api/keys/:id/rotate`, in ms. @throws BadRequestException */
export function gracePeriodMsOf(body: unknown): number {
  const seconds = objectOf(body).gracePeriodSeconds ?? 0;
  if (!Number.isInteger(seconds) || (seconds as number) < 0 || (seconds as number) > MAX_GRACE_PERIOD_SECONDS) {
    throw new BadRequestException(`gracePeriodSeconds must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}`);
  }
  return (seconds as number) * 1000;
}

/** The reason of `POST <path>/api/keys/:id/revoke`. @throws BadRequestException */
export function reasonOf(body: unknown): string | undefined {
  const reason = objectOf(body).reason;
  if (reason === undefined || reason === '') return undefined;
  if (typeof reason !== 'string' || reason.length > 255) {
    throw new BadRequestException('reason must be a string of at most 255 characters');
  }
  return reason;
}
