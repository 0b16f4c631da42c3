import { ApiKeyConfigurationError } from '../../api-key.errors.js';

/** The injection token of the resolved {@link ResolvedAlertOptions}. */
export const API_KEY_ALERT_OPTIONS = Symbol('nestjs-opaque-keys:alert-options');

/**
 * A count of refused requests per key (per owner for `owners.refusals`) in a fixed window: more than `moreThan` in
 * `windowMs` is an alert.
 */
export interface ApiKeyRefusalThreshold {
  /** The alert goes out when a key's (an owner's) count in one window exceeds this (a positive integer). */
  moreThan: number;
  /** The window's length in ms (windows are aligned to the epoch, so every instance shares them). Default 60000. */
  windowMs?: number;
}

/** Thresholds about an owner rather than one key (`withAlerts({ owners })`). See docs/alerts.md. */
export interface ApiKeyOwnerAlertOptions {
  /**
   * The sum of the balances left across the owner's live keys that hold one (credits with or without refill,
   * `maxUses`; a rotation family counted once): below `below` (a positive integer) is an alert.
   */
  credits?: { below: number };
  /**
   * Refused requests across all the owner's keys (401 for a revoked, expired or disabled key, 403): more than
   * `moreThan` in one window is an alert.
   */
  refusals?: ApiKeyRefusalThreshold;
}

/**
 * Threshold alerts (`withAlerts(options)`): give at least one threshold. See docs/alerts.md.
 * @example
 * withAlerts({ credits: { belowShare: 0.1 }, uses: { below: 5 }, rateLimited: { moreThan: 100 } })
 * withAlerts({ owners: { credits: { below: 500 }, refusals: { moreThan: 50, windowMs: 60_000 } } })
 */
export interface ApiKeyAlertOptions {
  /**
   * Keys whose balance refills (issued with `credits.refill`): `below` credits left, and/or below `belowShare`
   * (0 < share <= 1) of the amount a refill restores (`refill.amount`).
   */
  credits?: { below?: number; belowShare?: number };
  /** Keys whose balance does not refill (`maxUses`, or credits without refill): fewer than `below` uses left. */
  uses?: { below: number };
  /** A key refused by its rate limit (429) more than `moreThan` times in one window. */
  rateLimited?: ApiKeyRefusalThreshold;
  /** A spike of refused requests for one key (401 for a revoked, expired or disabled key, 403): a leaked key being tried. */
  refusals?: ApiKeyRefusalThreshold;
  /** Thresholds of an owner's keys taken together: their balances' sum, their refusals. */
  owners?: ApiKeyOwnerAlertOptions;
  /** How often each instance evaluates the thresholds, in ms (never on the request path). Default 60000, at least 1000. */
  checkIntervalMs?: number;
  /** Keys, and owners, below a balance threshold looked at per check (the lowest balance first). Default 1000. */
  batchSize?: number;
  /**
   * Keys counted per window and instance, and as many owners for `owners.refusals`; refusals of further keys (or
   * owners) are not counted in that window. Default 10000.
   */
  maxTrackedKeys?: number;
}

/** A resolved refusal threshold. */
export interface ResolvedRefusalThreshold {
  readonly moreThan: number;
  readonly windowMs: number;
}

/** Alert options with defaults applied; `null` for a threshold not configured. */
export interface ResolvedAlertOptions {
  readonly creditsBelow: number | null;
  readonly creditsBelowShare: number | null;
  readonly usesBelow: number | null;
  readonly rateLimited: ResolvedRefusalThreshold | null;
  readonly refusals: ResolvedRefusalThreshold | null;
  /** `owners.credits.below`. */
  readonly ownerCreditsBelow: number | null;
  /** `owners.refusals`. */
  readonly ownerRefusals: ResolvedRefusalThreshold | null;
  readonly checkIntervalMs: number;
  readonly batchSize: number;
  readonly maxTrackedKeys: number;
}

function bad(option: string, message: string): ApiKeyConfigurationError {
  return new ApiKeyConfigurationError(message, option);
}

function integer(option: string, value: unknown, fallback: number, min: number): number {
  const given = value ?? fallback;
  if (typeof given !== 'number' || !Number.isInteger(given) || given < min || given > 2_000_000_000)
    throw bad(option, `${option} must be an integer from ${min} to 2000000000; got ${String(value)}`);
  return given;
}

function counted(option: string, given: ApiKeyRefusalThreshold | undefined, check: number) {
  if (given === undefined) return null;
  if (typeof given !== 'object' || given === null) throw bad(option, `${option} must be { moreThan, windowMs? }`);
  const windowMs = integer(`${option}.windowMs`, given.windowMs, 60_000, 1000);
  if (windowMs < check)
    throw bad(
      `${option}.windowMs`,
      `${option}.windowMs (${windowMs}) must be at least alerts.checkIntervalMs (${check}): each window is evaluated`,
    );
  return Object.freeze({ moreThan: integer(`${option}.moreThan`, given.moreThan, NaN, 1), windowMs });
}

/** The owner thresholds, checked. @throws ApiKeyConfigurationError naming the option */
function ownerThresholds(owners: ApiKeyOwnerAlertOptions | undefined, check: number) {
  if (owners === undefined) return { ownerCreditsBelow: null, ownerRefusals: null };
  if (typeof owners !== 'object' || owners === null)
    throw bad('alerts.owners', 'alerts.owners must be { credits?, refusals? }');
  const { credits } = owners;
  if (credits !== undefined && (typeof credits !== 'object' || credits === null))
    throw bad('alerts.owners.credits', 'alerts.owners.credits must be { below }');
  return {
    ownerCreditsBelow: credits === undefined ? null : integer('alerts.owners.credits.below', credits.below, NaN, 1),
    ownerRefusals: counted('alerts.owners.refusals', owners.refusals, check),
  };
}

function ownerThresholdGiven(resolved: ResolvedAlertOptions): boolean {
  return resolved.ownerCreditsBelow !== null || resolved.ownerRefusals !== null;
}

/** Applies defaults and checks values. @throws ApiKeyConfigurationError naming the option */
export function resolveAlertOptions(options: ApiKeyAlertOptions): ResolvedAlertOptions {
  if (typeof options !== 'object' || options === null) throw bad('alerts', 'withAlerts() takes an options object');
  const checkIntervalMs = integer('alerts.checkIntervalMs', options.checkIntervalMs, 60_000, 1000);
  const { credits, uses } = options;
  if (credits !== undefined && (typeof credits !== 'object' || credits === null))
    throw bad('alerts.credits', 'alerts.credits must be { below?, belowShare? }');
  if (uses !== undefined && (typeof uses !== 'object' || uses === null))
    throw bad('alerts.uses', 'alerts.uses must be { below }');
  const creditsBelow = credits?.below === undefined ? null : integer('alerts.credits.below', credits.below, 0, 1);
  const share = credits?.belowShare;
  if (share !== undefined && (typeof share !== 'number' || !(share > 0 && share <= 1)))
    throw bad(
      'alerts.credits.belowShare',
      `alerts.credits.belowShare must be a number above 0, at most 1; got ${String(share)}`,
    );
  const owners = ownerThresholds(options.owners, checkIntervalMs);
  const resolved: ResolvedAlertOptions = {
    creditsBelow,
    creditsBelowShare: share ?? null,
    usesBelow: uses === undefined ? null : integer('alerts.uses.below', uses.below, NaN, 1),
    rateLimited: counted('alerts.rateLimited', options.rateLimited, checkIntervalMs),
    refusals: counted('alerts.refusals', options.refusals, checkIntervalMs),
    ...owners,
    checkIntervalMs,
    batchSize: integer('alerts.batchSize', options.batchSize, 1000, 1),
    maxTrackedKeys: integer('alerts.maxTrackedKeys', options.maxTrackedKeys, 10_000, 1),
  };
  const { creditsBelow: c, creditsBelowShare: s, usesBelow: u, rateLimited: r, refusals: f } = resolved;
  if (c === null && s === null && u === null && r === null && f === null && !ownerThresholdGiven(resolved))
    throw bad(
      'alerts',
      'withAlerts() needs at least one threshold: credits.below, credits.belowShare, uses.below, rateLimited, ' +
        'refusals, owners.credits.below or owners.refusals',
    );
  return Object.freeze(resolved);
}

/** Whether options given as a value count refusals (then the feature hears verification outcomes). */
export function countsRefusals(options: ApiKeyAlertOptions): boolean {
  return options.rateLimited !== undefined || options.refusals !== undefined || options.owners?.refusals !== undefined;
}
