import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ApiKeyService } from 'nestjs-opaque-keys';
import { API_KEY_POLICY } from './config/api-keys.options.js';
import { SampleAppConfig } from './config/sample-app.config.js';

/**
 * Name and scopes of the first key, issued when the key table is empty. It
 * holds what an everyday admin hands out, and no more: `keys:admin` (manage
 * keys) and the app's own scopes (`orders:*`, `downloads:*`). It holds neither
 * `keys:leaks` (report leaked keys) nor `keys:introspect` (look keys up for
 * another service): a key printed to a terminal and pasted into shells should
 * not also be a secret scanner or a resource server. Keys are issued only
 * within the issuer's scopes (docs/delegation.md), so it cannot issue those
 * either: the operator issues them with the CLI, whose calls are trusted
 * (`-d build/sample-app/data-source.js`, see sample-app/data-source.ts).
 * It lives as long as the policy allows (365 days), so the keys it issues get
 * their full default lifetime rather than being cut to its own.
 */
export const BOOTSTRAP_ADMIN_KEY = {
  name: 'bootstrap admin',
  scopes: ['keys:admin', 'orders:*', 'downloads:*'],
} as const;

/**
 * Solves the first-key problem: on a start with an empty key table, issues
 * one admin key and prints it once, to stdout only, with a curl line to try
 * it. The plaintext never goes through the Nest logger (logs are collected
 * and kept; a terminal is not). Later starts find a key and issue none.
 * The key is a live key with the longest lifetime the policy allows (365
 * days): renew it before then with `POST /keys/self/rotate`.
 */
@Injectable()
export class BootstrapAdminKey implements OnApplicationBootstrap {
  private readonly logger = new Logger(BootstrapAdminKey.name);

  constructor(
    private readonly keys: ApiKeyService,
    private readonly config: SampleAppConfig,
  ) {}

  /** Issues and prints the admin key if, and only if, no key exists yet. */
  async onApplicationBootstrap(): Promise<void> {
    const { total } = await this.keys.list({ limit: 1 });
    if (total > 0) {
      this.logger.log('keys exist, not issuing a bootstrap admin key');
      return;
    }
    const { key, record } = await this.keys.issue({
      ...BOOTSTRAP_ADMIN_KEY,
      scopes: [...BOOTSTRAP_ADMIN_KEY.scopes],
      expiresAt: new Date(Date.now() + API_KEY_POLICY.maxLifetimeMs),
      actor: 'bootstrap',
    });
    this.logger.log(`issued bootstrap admin key ${record.id}; it is printed once, on stdout`);
    process.stdout.write(this.banner(key, record.expiresAt));
  }

  /** The text shown once: the key, and how to use it. */
  private banner(key: string, expiresAt: Date | null): string {
    return [
      '',
      `  Bootstrap admin key (scopes: ${BOOTSTRAP_ADMIN_KEY.scopes.join(' ')}). Shown only this once: store it now.`,
      '',
      `    ${key}`,
      '',
      '  Try it:',
      `    curl -H "Authorization: Bearer ${key}" ${this.config.baseUrl}/orders`,
      '',
      `  It expires ${expiresAt ? `on ${expiresAt.toISOString()}` : 'never'}; renew it before then with POST /keys/self/rotate.`,
      '',
      '',
    ].join('\n');
  }
}
