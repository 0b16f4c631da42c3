import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  Post,
  UseFilters,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { ApiKeyExceptionFilter } from '../../http/api-key.exception-filter.js';
import type { ApiKeyPrincipal } from '../../verification/api-key.principal.js';
import { CurrentApiKey } from '../../http/decorators/current-api-key.decorator.js';
import { ApiKeyGuard } from '../../http/api-key.guard.js';
import type { LeakedKeyResult } from '../../lifecycle/api-key.record.js';
import { ApiKeyService } from '../../lifecycle/api-key.service.js';
import { Scopes } from '../../http/decorators/scopes.decorator.js';

/** The most keys one report may carry. */
export const MAX_LEAK_REPORT_KEYS = 100;

/** Where the leak-report endpoint listens and the scope its callers need. */
export interface LeakReportOptions {
  /** Route path. Default `api-keys/leaks`. */
  path?: string;
  /** Scope required of the reporting key. Default `keys:leaks`. */
  scope?: string;
}

function tokensOf(body: unknown): string[] {
  const list = Array.isArray(body) ? body : (body as { keys?: unknown })?.keys;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_LEAK_REPORT_KEYS) {
    throw new BadRequestException(
      `send a JSON array of 1-${MAX_LEAK_REPORT_KEYS} reports, each { "token": "<found key>" }`,
    );
  }
  return list.map((entry, index) => {
    const token = typeof entry === 'string' ? entry : (entry as { token?: unknown })?.token;
    if (typeof token !== 'string' || token.length === 0 || token.length > 1024) {
      throw new BadRequestException(`report ${index} has no "token" string`);
    }
    return token;
  });
}

/**
 * Builds the controller that takes secret-scanning reports: `POST <path>` with
 * `[{ "token": "sk_..." }, ...]` revokes each reported key and answers, in the
 * same order, `{ "status": "revoked" | "already_revoked" | "unknown" }`.
 * Unknown or malformed strings are answered `unknown` and nothing else.
 * The caller authenticates with a key holding `scope`.
 * @example
 * @Module({ controllers: [createLeakReportController({ scope: 'keys:leaks' })] })
 */
export function createLeakReportController({
  path = 'api-keys/leaks',
  scope = 'keys:leaks',
}: LeakReportOptions = {}): Type {
  @Controller(path)
  @UseGuards(ApiKeyGuard)
  @UseFilters(ApiKeyExceptionFilter)
  @Scopes(scope)
  class LeakReportController {
    constructor(private readonly keys: ApiKeyService) {}

    @Post()
    @HttpCode(200)
    async report(
      @Body() body: unknown,
      @CurrentApiKey() reporter: ApiKeyPrincipal,
    ): Promise<{ results: LeakedKeyResult[] }> {
      const tokens = tokensOf(body);
      const results: LeakedKeyResult[] = [];
      const actor = `key:${reporter.id}`;
      for (const token of tokens)
        results.push(await this.keys.revokeByKey(token, 'reported by secret scanning', { actor }));
      return { results };
    }
  }
  return LeakReportController;
}
