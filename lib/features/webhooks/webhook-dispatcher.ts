import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ApiKeyWebhookDeliveryColumns } from './api-key-webhook-delivery.entity.js';
import { WebhookDeliveryStore, type WebhookAttemptOutcome } from './webhook-delivery.store.js';
import { sendWebhook, type WebhookAttemptResult } from './webhook-sender.js';
import { WebhookSigner } from './webhook-signer.js';
import { API_KEY_WEBHOOK_OPTIONS, retryDelay, type ResolvedWebhookOptions } from './webhook.options.js';

const PURGE_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Sends the outbox: a loop of its own (unref'd `setTimeout`), woken at once
 * after each commit that queued deliveries and polling every `pollIntervalMs`
 * otherwise. Each attempt is claimed first (conditional UPDATE), POSTed with
 * the Standard Webhooks headers, and its outcome written: 2xx is delivered;
 * anything else, a timeout or a refused connection is retried with
 * exponential backoff and jitter, up to `maxAttempts`, then `failed`. A claim
 * lapses after twice the timeout (plus 5 s), so a crashed sender's attempt is
 * retried by another instance. Never on the caller's path: a slow or dead
 * receiver delays nothing but its own deliveries. Stops on shutdown, before
 * the DataSource closes, aborting attempts under way (they are sent again later).
 */
@Injectable()
export class ApiKeyWebhookDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyWebhooks');
  private signer: WebhookSigner | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly shutdown = new AbortController();
  private soonest = Infinity;
  private lastPurge = 0;

  constructor(
    @Inject(API_KEY_WEBHOOK_OPTIONS) private readonly config: ResolvedWebhookOptions,
    private readonly store: WebhookDeliveryStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.signer = await WebhookSigner.load(this.config.endpoints.flatMap((endpoint) => endpoint.secrets));
    this.schedule(0); // rows left pending by an earlier run
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.shutdown.abort();
    await this.running;
  }

  /** Wakes the loop now (after a commit that queued deliveries). */
  kick(): void {
    if (!this.signer || this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /**
   * Sends every delivery due now, then resolves (the loop calls it; tests and
   * hosts may too). One run at a time; never throws (a database failure is
   * logged and the next poll retries).
   */
  drain(): Promise<void> {
    if (!this.signer || this.stopped) return Promise.resolve();
    this.running ??= this.drainNow()
      .catch((error: Error) =>
        this.logger.error(`webhook dispatch failed, retrying at the next poll: ${error.message}`),
      )
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        const wait = this.again ? 0 : Math.min(this.config.pollIntervalMs, Math.max(0, this.soonest - Date.now()));
        this.again = false;
        this.schedule(wait);
      });
    return this.running;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.drain(), ms);
    this.timer.unref();
  }

  private async drainNow(): Promise<void> {
    const config = this.config;
    this.soonest = Infinity;
    for (;;) {
      const due = await this.store.due(new Date(), config.concurrency);
      await Promise.all(due.map((row) => this.attempt(row, config)));
      if (due.length < config.concurrency || this.stopped) break;
    }
    await this.purge(config);
  }

  /** Claims, sends and records one attempt of `row`; skipped when another instance claimed it first. */
  private async attempt(row: ApiKeyWebhookDeliveryColumns, config: ResolvedWebhookOptions): Promise<void> {
    const token = randomUUID();
    const now = Date.now();
    if (!(await this.store.claim(row.id, token, new Date(now), new Date(now + 2 * config.timeoutMs + 5000)))) return;
    const attempts = row.attempts + 1;
    const endpoint = config.endpoints.find((candidate) => candidate.url === row.endpointUrl);
    const result: WebhookAttemptResult = endpoint
      ? await this.send(row, endpoint.secrets, config)
      : { error: 'endpoint no longer configured' };
    await this.store.complete(row.id, token, this.outcome(row, result, attempts, config, !endpoint));
  }

  private send(row: ApiKeyWebhookDeliveryColumns, secrets: readonly string[], config: ResolvedWebhookOptions) {
    const at = new Date();
    return sendWebhook({
      url: row.endpointUrl,
      body: row.payload,
      timeoutMs: config.timeoutMs,
      signal: this.shutdown.signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'nestjs-opaque-keys-webhooks',
        'webhook-id': row.id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': this.signer!.sign(secrets, row.id, at, row.payload),
      },
    });
  }

  private outcome(
    row: ApiKeyWebhookDeliveryColumns,
    result: WebhookAttemptResult,
    attempts: number,
    config: ResolvedWebhookOptions,
    giveUp: boolean,
  ): WebhookAttemptOutcome {
    const now = Date.now();
    if (result.status !== undefined && result.status >= 200 && result.status < 300)
      return { status: 'delivered', lastStatusCode: result.status, lastError: null, deliveredAt: new Date(now) };
    const lastStatusCode = result.status ?? null;
    const lastError = result.error ?? `HTTP ${result.status}`;
    if (this.shutdown.signal.aborted)
      return { status: 'pending', lastStatusCode, lastError, nextAttemptAt: new Date(now) };
    if (giveUp || attempts >= config.maxAttempts) {
      this.logger.warn(
        `webhook ${row.id} (${row.eventType} of key ${row.keyId}) to ${new URL(row.endpointUrl).origin} failed after ${attempts} attempt(s): ${lastError}`, // the origin only: some receivers put a token in the path
      );
      return { status: 'failed', lastStatusCode, lastError };
    }
    const next = now + retryDelay(config, attempts);
    this.soonest = Math.min(this.soonest, next);
    return { status: 'pending', lastStatusCode, lastError, nextAttemptAt: new Date(next) };
  }

  /** Deletes delivered rows past `retentionDays`, at most hourly per instance. */
  private async purge(config: ResolvedWebhookOptions): Promise<void> {
    const now = Date.now();
    if (config.retentionDays === 0 || now - this.lastPurge < PURGE_INTERVAL_MS) return;
    this.lastPurge = now;
    await this.store.purge(new Date(now - config.retentionDays * DAY_MS), ['delivered']);
  }
}
