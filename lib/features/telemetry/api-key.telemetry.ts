import {
  Inject,
  Injectable,
  Optional,
  type ExecutionContext,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { API_KEY_OPTIONS, API_KEY_STORE } from '../../api-key.constants.js';
import type { ResolvedApiKeyOptions } from '../../api-key.options.js';
import type { ApiKeyStore } from '../../storage/api-key.store.js';
import type { LookupStats } from '../../storage/lookup-stats.js';
import type { ApiKeyVerificationHook, VerificationOutcome } from '../../verification/verification-hook.js';
import { LOOKUP_INSTRUMENTS, observeLookups, type LookupMeter } from './lookup-instruments.js';

/** The instrument and span names this library reports under (meter and tracer `nestjs-opaque-keys`). */
export const API_KEY_TELEMETRY = Object.freeze({
  scope: 'nestjs-opaque-keys',
  verifications: 'api_key.verifications',
  duration: 'api_key.verification.duration',
  storeFailures: 'api_key.store.failures',
  span: 'api_key.verify',
  ...LOOKUP_INSTRUMENTS,
});

/** The parts of `@opentelemetry/api` used here (typed loosely: the package is an optional peer). */
interface Counter {
  add(value: number, attributes?: Record<string, string>): void;
}
interface Histogram {
  record(value: number, attributes?: Record<string, string>): void;
}
interface Span {
  setAttribute(key: string, value: string): void;
  setStatus(status: { code: number }): void;
  end(endTime?: number): void;
}
interface OpenTelemetryApi {
  metrics: {
    getMeter(name: string): LookupMeter & {
      createCounter(name: string, options?: object): Counter;
      createHistogram(name: string, options?: object): Histogram;
    };
  };
  trace: { getTracer(name: string): { startSpan(name: string, options?: object): Span } };
}

/**
 * OpenTelemetry metrics and spans of verification, through `@opentelemetry/api`
 * when the host has it (an optional peer, loaded at start-up; it does nothing
 * until the host registers an SDK). Attributes are the outcome and the
 * transport only: never a key, a hash, a key id or an owner id (cardinality
 * and secrecy). The span carries the key id (not secret), never the key.
 * With the lookup cache or batching on, it also reports the setup's
 * {@link LookupStats} (see {@link observeLookups}: attributes `result` and,
 * for a named setup, `setup`).
 */
@Injectable()
export class ApiKeyTelemetry implements ApiKeyVerificationHook, OnModuleInit, OnModuleDestroy {
  /** Start times of requests under way, by execution context (only while telemetry is on). */
  private readonly startTimes = new WeakMap<object, number>();
  private verifications: Counter | undefined;
  private duration: Histogram | undefined;
  private storeFailures: Counter | undefined;
  private tracer: { startSpan(name: string, options?: object): Span } | undefined;
  private stopObservingLookups: (() => void) | undefined;

  constructor(
    @Optional() @Inject(API_KEY_OPTIONS) private readonly options?: ResolvedApiKeyOptions,
    @Optional() @Inject(API_KEY_STORE) store?: ApiKeyStore,
  ) {
    this.lookups = store?.stats;
  }

  /** The setup's lookup counts, from its store. */
  private readonly lookups?: LookupStats;

  /** True once `@opentelemetry/api` is loaded: start times are noted only then. */
  get active(): boolean {
    return this.verifications !== undefined;
  }

  /** The verification hook: a request with a key arrived (its start time, for the histogram and span). */
  started(context: ExecutionContext): void {
    if (this.verifications) this.startTimes.set(context, performance.now());
  }

  /** The verification hook: the request's outcome, counted by outcome and transport. */
  ended(context: ExecutionContext | undefined, outcome: VerificationOutcome, keyId: string | undefined): void {
    if (!this.verifications || !context) return;
    const startedAt = this.startTimes.get(context);
    if (outcome === 'unavailable') this.storeFailed(context.getType(), startedAt);
    else this.verified(outcome, context.getType(), keyId, startedAt);
  }

  async onModuleInit(): Promise<void> {
    const name = '@opentelemetry/api';
    let api: OpenTelemetryApi;
    try {
      api = (await import(name)) as OpenTelemetryApi;
    } catch {
      return; // not installed: no telemetry
    }
    const meter = api.metrics.getMeter(API_KEY_TELEMETRY.scope);
    this.verifications = meter.createCounter(API_KEY_TELEMETRY.verifications, {
      description: 'API key verifications, by outcome and transport',
    });
    this.duration = meter.createHistogram(API_KEY_TELEMETRY.duration, {
      description: 'Time from the guard receiving a request to its verdict',
      unit: 's',
    });
    this.storeFailures = meter.createCounter(API_KEY_TELEMETRY.storeFailures, {
      description: 'Verifications refused with 503 because the key store could not answer',
    });
    this.tracer = api.trace.getTracer(API_KEY_TELEMETRY.scope);
    if (this.lookups)
      this.stopObservingLookups = observeLookups(meter, this.lookups, this.options?.cache !== undefined);
  }

  /** Stops observing the lookup counts (an app closing must not be collected from, nor kept alive). */
  onModuleDestroy(): void {
    this.stopObservingLookups?.();
    this.stopObservingLookups = undefined;
  }

  /**
   * A verification ended with `outcome` after starting at `startedAt`
   * (`performance.now()`, or `undefined` when not noted). The span gets the
   * key id when the key is known.
   */
  verified(outcome: string, transport: string, keyId: string | undefined, startedAt: number | undefined): void {
    if (!this.verifications) return;
    const attributes = { outcome, transport };
    this.verifications.add(1, attributes);
    if (startedAt === undefined) return;
    const seconds = (performance.now() - startedAt) / 1000;
    this.duration!.record(seconds, attributes);
    const span = this.tracer!.startSpan(API_KEY_TELEMETRY.span, {
      startTime: performance.timeOrigin + startedAt,
      attributes: { 'api_key.outcome': outcome, 'api_key.transport': transport },
    });
    if (keyId) span.setAttribute('api_key.id', keyId);
    if (outcome === 'unavailable') span.setStatus({ code: 2 });
    span.end();
  }

  /** The store could not answer (a 503). */
  storeFailed(transport: string, startedAt: number | undefined): void {
    if (!this.storeFailures) return;
    this.storeFailures.add(1, { transport });
    this.verified('unavailable', transport, undefined, startedAt);
  }
}
