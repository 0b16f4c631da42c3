import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ApiKeyService } from 'nestjs-opaque-keys';
import { SampleAppConfig } from './config/sample-app.config.js';

/**
 * Name and scopes of the first key, issued when the key table is empty. It
 * manages keys and orders only: operators issue dedicated keys, with just the
 * scope they need, to secret scanners (`keys:leaks`) and to services that
 * introspect keys (`keys:introspect`).
 */
export const BOOTSTRAP_ADMIN_KEY = { name: 'bootstrap admin', scopes: ['keys:admin', 'orders:*'] } as const;

/**
 * Solves the first-key problem: on a start with an empty key table, issues
 * one admin key and prints it once, to stdout only, with a curl line to try
 * it. The plaintext never goes through the Nest logger (logs are collected
 * and kept; a terminal is not). Later starts find a key and issue none.
 * The key is a live key with the app's default lifetime (90 days): renew it
 * before then with `POST /keys/self/rotate`.
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
      actor: 'bootstrap',
    });
    this.logger.log(`issued bootstrap admin key ${record.id}; it is printed once, on stdout`);
    process.stdout.write(this.banner(key, record.expiresAt));
  }

  /** The text shown once: the key, and how to use it. */
  private banner(key: string, expiresAt: Date | null): string {
    return [
      '',
      '  Bootstrap admin key (scopes: keys:admin orders:*). Shown only this once: store it now.',
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
