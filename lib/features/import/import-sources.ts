import { validateCredits, validateMetadata, validateName, validateOwnerId } from '../../policies/api-key.input.js';
import { normalizeScopes } from '../../policies/scope-matcher.js';
import type { ResolvedLegacyFormat } from './import.options.js';
import { isSupportedDjangoHash, lookupValueOf, nativeHashOf } from './legacy-hash.js';

/** The systems the importer reads rows of. */
export type ApiKeyImportSource = 'better-auth' | 'drf' | 'sha256-table';

/** A source row mapped to a key: everything the importer stores. */
export interface ImportCandidate {
  readonly sourceId: string;
  /** The value of the `hash` column: the native SHA-256, or a lookup value until the first use. */
  readonly hash: string;
  /** The source's hash, kept until the first use for a source the library cannot convert. */
  readonly foreignHash: string | null;
  /** The start of the key the source kept for display (`ba_tKc`, a DRF prefix), or `''`. */
  readonly display: string;
  readonly name: string;
  readonly ownerId: string | null;
  readonly scopes: string[];
  readonly metadata: Record<string, unknown> | null;
  /** When the source created it; `null`: now. */
  readonly createdAt: Date | null;
  readonly expiresAt: Date | null;
  readonly lastUsedAt: Date | null;
  /** Revoked in the source (for good): imported revoked. */
  readonly revoked: boolean;
  /** Disabled in the source (reversibly): imported disabled. */
  readonly disabled: boolean;
  readonly remainingUses: number | null;
  /** A refill, and when the last one was (`null`: now). */
  readonly refill: { readonly amount: number; readonly intervalMs: number; readonly lastAtMs: number | null } | null;
}

/** How a source's rows are read: the default scopes for sources without any, the owner's column where it varies. */
export interface ImportMapping {
  /** Scopes of every key of a source that has none (DRF, a table without a scopes column). Default none. */
  readonly scopes?: readonly string[];
  /** The column holding the owner, for DRF models that add one (`organization_id`) or another table's name. */
  readonly ownerColumn?: string;
}

/** Why a row cannot be imported, reported with its index and source id. */
export class UnmappableRowError extends Error {}

type Row = Readonly<Record<string, unknown>>;

/** Maps one row of `source` stored in `format`. @throws UnmappableRowError with the reason */
export function mapSourceRow(
  source: ApiKeyImportSource,
  format: ResolvedLegacyFormat,
  row: Row,
  mapping: ImportMapping,
): ImportCandidate {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new UnmappableRowError('not an object');
  return checked(MAPPERS[source](format, row, mapping));
}

const MAPPERS: Record<ApiKeyImportSource, (format: ResolvedLegacyFormat, row: Row, mapping: ImportMapping) => Draft> = {
  // Better Auth's `apikey` table (@better-auth/api-key): `key` is the base64url SHA-256 of the whole key.
  'better-auth': (format, row) => ({
    sourceId: text(row.id, 'id'),
    hash: converted(format, row.key, 'key'),
    foreignHash: null,
    display: optionalText(row.start) ?? '',
    name: optionalText(row.name),
    ownerId: optionalText(row.referenceId ?? row.userId) ?? null,
    scopes: permissionScopes(json(row.permissions, 'permissions')),
    metadata: metadataOf(row.metadata),
    createdAt: date(row.createdAt, 'createdAt'),
    expiresAt: date(row.expiresAt, 'expiresAt'),
    lastUsedAt: date(row.lastRequest, 'lastRequest'),
    revoked: false,
    disabled: row.enabled !== undefined && row.enabled !== null && !bool(row.enabled, 'enabled'),
    remainingUses: integer(row.remaining, 'remaining'),
    refill: refillOf(row),
  }),
  // djangorestframework-api-key's `rest_framework_api_key_apikey`: `hashed_key` is a Django hasher string.
  drf: (format, row, mapping) => {
    const prefix = text(row.prefix, 'prefix');
    if (format.hash !== 'django') throw new UnmappableRowError(`format ${format.name} is not a django format`);
    if (!isSupportedDjangoHash(row.hashed_key))
      throw new UnmappableRowError('hashed_key is not a sha512$$ or pbkdf2 Django hash (argon2, bcrypt: not read)');
    return {
      sourceId: text(row.id, 'id'),
      hash: lookupValueOf(format.name, prefix),
      foreignHash: row.hashed_key,
      display: prefix,
      name: optionalText(row.name),
      ownerId: mapping.ownerColumn ? ownerText(row[mapping.ownerColumn], mapping.ownerColumn) : null,
      scopes: [...(mapping.scopes ?? [])],
      metadata: null,
      createdAt: date(row.created, 'created'),
      expiresAt: date(row.expiry_date, 'expiry_date'),
      lastUsedAt: null,
      revoked: bool(row.revoked ?? false, 'revoked'),
      disabled: false,
      remainingUses: null,
      refill: null,
    };
  },
  // A hand-rolled table: SHA-256 of the whole key (hex, base64 or base64url, as the format says).
  'sha256-table': (format, row, mapping) => {
    const scopes = pick(row, 'scopes');
    return {
      sourceId: String(text(row.id, 'id')),
      hash: converted(format, pick(row, 'key_hash', 'keyHash', 'hash'), 'key_hash'),
      foreignHash: null,
      display: optionalText(pick(row, 'start', 'hint')) ?? '',
      name: optionalText(row.name),
      ownerId: ownerText(pick(row, mapping.ownerColumn ?? 'owner_id', 'ownerId', 'user_id'), 'owner_id'),
      scopes: scopes === undefined || scopes === null ? [...(mapping.scopes ?? [])] : scopeList(scopes),
      metadata: metadataOf(row.metadata),
      createdAt: date(pick(row, 'created_at', 'createdAt'), 'created_at'),
      expiresAt: date(pick(row, 'expires_at', 'expiresAt'), 'expires_at'),
      lastUsedAt: date(pick(row, 'last_used_at', 'lastUsedAt'), 'last_used_at'),
      revoked:
        Boolean(date(pick(row, 'revoked_at', 'revokedAt'), 'revoked_at')) || bool(row.revoked ?? false, 'revoked'),
      disabled: false,
      remainingUses: integer(pick(row, 'remaining_uses', 'remainingUses'), 'remaining_uses'),
      refill: null,
    };
  },
};

type Draft = Omit<ImportCandidate, 'name'> & { name: string | undefined };

/** The library's own checks on what a source gave (name, owner, scopes, metadata, credits). */
function checked(draft: Draft): ImportCandidate {
  try {
    const name = draft.name?.trim() ? draft.name : `imported ${draft.sourceId}`.slice(0, 100);
    const { refill } = draft;
    // A refill without a balance starts full, as Better Auth's own `remaining ?? refillAmount`.
    const remainingUses = refill && draft.remainingUses === null ? refill.amount : draft.remainingUses;
    if (remainingUses !== null)
      validateCredits({
        remaining: remainingUses,
        refill: refill && { amount: refill.amount, intervalMs: refill.intervalMs },
      });
    return {
      ...draft,
      name: validateName(name),
      ownerId: validateOwnerId(draft.ownerId),
      scopes: normalizeScopes(draft.scopes),
      metadata: validateMetadata(draft.metadata),
      remainingUses,
    };
  } catch (error) {
    throw new UnmappableRowError((error as Error).message);
  }
}

function pick(row: Row, ...names: string[]): unknown {
  for (const name of names) if (row[name] !== undefined) return row[name];
  return undefined;
}

function text(value: unknown, column: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value !== 'string' || value.length === 0 || value.length > 255)
    throw new UnmappableRowError(`${column} must be a non-empty string of at most 255 characters`);
  return value;
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function ownerText(value: unknown, column: string): string | null {
  return value === undefined || value === null ? null : text(value, column);
}

function converted(format: ResolvedLegacyFormat, stored: unknown, column: string): string {
  const hash = nativeHashOf(format.hash, stored);
  if (!hash) throw new UnmappableRowError(`${column} is not a SHA-256 in ${format.hash.slice('sha256-'.length)}`);
  return hash;
}

function date(value: unknown, column: string): Date | null {
  if (value === undefined || value === null || value === '') return null;
  let date: Date;
  if (value instanceof Date) date = value;
  else if (typeof value === 'number') date = new Date(value);
  else if (typeof value === 'string') {
    // SQL datetimes without a zone (`2026-01-02 03:04:05.123456`, as Django and SQLite write them) are UTC.
    const iso = value.includes('T') ? value : value.replace(' ', 'T');
    date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  } else date = new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new UnmappableRowError(`${column} is not a date`);
  return date;
}

function bool(value: unknown, column: string): boolean {
  if (value === true || value === 1 || value === '1' || value === 't' || value === 'true') return true;
  if (value === false || value === 0 || value === '0' || value === 'f' || value === 'false') return false;
  throw new UnmappableRowError(`${column} is not a boolean`);
}

function integer(value: unknown, column: string): number | null {
  if (value === undefined || value === null) return null;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (!Number.isSafeInteger(number) || (number as number) < 0)
    throw new UnmappableRowError(`${column} is not a non-negative integer`);
  return number as number;
}

function json(value: unknown, column: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new UnmappableRowError(`${column} is not JSON`);
  }
}

/** Metadata as an object; Better Auth once stored it stringified twice. */
function metadataOf(value: unknown): Record<string, unknown> | null {
  let parsed = json(value, 'metadata');
  if (typeof parsed === 'string') parsed = json(parsed, 'metadata');
  if (parsed === undefined || parsed === null) return null;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new UnmappableRowError('metadata is not an object');
  return parsed as Record<string, unknown>;
}

/** Better Auth permissions (`{ "orders": ["read", "write"] }`) as scopes (`orders:read`, `orders:write`). */
function permissionScopes(permissions: unknown): string[] {
  if (permissions === undefined || permissions === null) return [];
  if (typeof permissions !== 'object' || Array.isArray(permissions))
    throw new UnmappableRowError('permissions is not an object of resource: actions');
  return Object.entries(permissions as Record<string, unknown>).flatMap(([resource, actions]) => {
    if (!Array.isArray(actions) || actions.some((action) => typeof action !== 'string'))
      throw new UnmappableRowError(`permissions.${resource} is not a list of actions`);
    return actions.map((action: string) => `${resource}:${action}`);
  });
}

/** A scopes column: a JSON array, or words separated by commas or spaces. */
function scopeList(value: unknown): string[] {
  const parsed = typeof value === 'string' && value.trim().startsWith('[') ? json(value, 'scopes') : value;
  if (Array.isArray(parsed) && parsed.every((scope) => typeof scope === 'string')) return parsed;
  if (typeof parsed === 'string') return parsed.split(/[\s,]+/).filter(Boolean);
  throw new UnmappableRowError('scopes is not a list of strings');
}

/** Better Auth's refill (`refillAmount` every `refillInterval` ms since `lastRefillAt`, or since creation). */
function refillOf(row: Row): ImportCandidate['refill'] {
  const amount = integer(row.refillAmount, 'refillAmount');
  const intervalMs = integer(row.refillInterval, 'refillInterval');
  if (amount === null || intervalMs === null) return null;
  const last = date(row.lastRefillAt, 'lastRefillAt') ?? date(row.createdAt, 'createdAt');
  return { amount, intervalMs, lastAtMs: last?.getTime() ?? null };
}
