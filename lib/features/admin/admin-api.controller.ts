import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Optional,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  UnauthorizedException,
  UseFilters,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { ApiKeyExceptionFilter } from '../../http/api-key.exception-filter.js';
import { ApiKeyGuard } from '../../http/api-key.guard.js';
import { Public, Scopes } from '../../http/decorators/scopes.decorator.js';
import type { ApiKeyRecord, IssuedApiKey, RotatedApiKey } from '../../lifecycle/api-key.record.js';
import { ApiKeyService } from '../../lifecycle/api-key.service.js';
import type { ApiKeyEventColumns } from '../../storage/api-key-event.entity.js';
import { API_KEY_REQUEST_PROPERTY, type ApiKeyPrincipal } from '../../verification/api-key.principal.js';
import { actingOptions } from './admin-acting.js';
import { keyStatus, parseAdminKeyQuery, searchKeys, type AdminKeyPage, type AdminKeyRow } from './admin-key.query.js';
import { creditsChangeOf, gracePeriodMsOf, issueInputOf, reasonOf, scopesOf, updateOf } from './admin-request.body.js';
import { adminUsageQueryOf, type AdminUsage } from './admin-usage.query.js';
import { ApiKeyUsageReader } from '../usage/index.js';
import { ApiKeyLastAddress, type ApiKeyLastUse } from '../last-address/index.js';
import { ResolvedAdminOptions, type AdminIdentity } from './admin.options.js';

/** `GET <path>/api/session`: who is signed in and the key policy the issue form follows. */
export interface AdminSession {
  readonly admin: AdminIdentity;
  readonly policy: {
    readonly environments: readonly string[];
    readonly defaultLifetimeMs: number | null;
    readonly maxLifetimeMs: number | null;
  };
}

/**
 * `GET <path>/api/keys/:id`: the key with its state, and, when the app records addresses (`withLastAddress()`),
 * where it was last used from (`null`: not since).
 */
export type AdminKeyDetails = AdminKeyRow & { readonly lastUsedFrom?: ApiKeyLastUse | null };

/** A page of a key's audit events. */
export interface AdminEventPage {
  readonly items: ApiKeyEventColumns[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

/**
 * Builds the console's JSON API under `<path>/api`, usable without the page.
 * By default it needs an API key holding the admin scope (`ApiKeyGuard` +
 * `@Scopes`), and every read and change is held to that key (`actingAs`:
 * its environment, owner and rotation family; docs/delegation.md); with a
 * host guard the routes are `@Public()` for `ApiKeyGuard` and guarded by the
 * host's class. Library errors map through
 * `ApiKeyExceptionFilter` (400, 404, 409, 503). Plaintext keys appear only in
 * the answers of issue and rotate.
 */
export function createAdminApiController(options: ResolvedAdminOptions): Type {
  const access = options.guard ? [Public(), UseGuards(options.guard)] : [UseGuards(ApiKeyGuard), Scopes(options.scope)];

  @Controller(options.apiPath)
  @UseFilters(ApiKeyExceptionFilter)
  class ApiKeyAdminApiController {
    constructor(
      private readonly keys: ApiKeyService,
      @Inject(API_KEY_OPTIONS) private readonly keyOptions: ResolvedApiKeyOptions,
      @Optional() private readonly usageReader?: ApiKeyUsageReader,
      @Optional() private readonly lastAddress?: ApiKeyLastAddress,
    ) {}

    /** The operator behind a request: the verified admin key, or the host's `identify`. */
    private adminOf(request: Record<string, unknown>): AdminIdentity {
      if (options.identify) return options.identify(request);
      const principal = request[API_KEY_REQUEST_PROPERTY] as ApiKeyPrincipal | undefined;
      if (!principal) throw new UnauthorizedException();
      return { id: principal.id, scopes: principal.scopes, principal };
    }

    /** Who is signed in, and the policy the issue form must follow. */
    @Get('session')
    session(@Req() request: Record<string, unknown>): AdminSession {
      const { id, scopes } = this.adminOf(request);
      const { environments, defaultLifetimeMs, maxLifetimeMs } = this.keyOptions;
      return {
        admin: { id, scopes },
        policy: { environments, defaultLifetimeMs: defaultLifetimeMs ?? null, maxLifetimeMs: maxLifetimeMs ?? null },
      };
    }

    /** Search (`q`: name, owner, hint), filter (`status`, `ownerId`), sort (`sort`, `order`), page (`limit`, `offset`). */
    @Get('keys')
    list(@Req() request: Record<string, unknown>, @Query() query: Record<string, unknown>): Promise<AdminKeyPage> {
      return searchKeys(this.keys, parseAdminKeyQuery(query), actingOptions(this.adminOf(request)));
    }

    /** Issues a key within the admin's scopes: `201 { key, record }`, the only time the key is shown. */
    @Post('keys')
    issue(@Req() request: Record<string, unknown>, @Body() body: unknown): Promise<IssuedApiKey> {
      const input = issueInputOf(body);
      return this.keys.issue({ ...input, ...actingOptions(this.adminOf(request), { scopes: input.scopes }) });
    }

    /** One key, with its computed status (and its last address, with `withLastAddress()`). */
    @Get('keys/:id')
    async get(@Req() request: Record<string, unknown>, @Param('id') id: string): Promise<AdminKeyDetails> {
      const row = keyStatus(await this.keys.get(id, actingOptions(this.adminOf(request))));
      return this.lastAddress ? { ...row, lastUsedFrom: await this.lastAddress.of(id) } : row;
    }

    /** The key's audit trail, newest first. */
    @Get('keys/:id/events')
    async events(
      @Req() request: Record<string, unknown>,
      @Param('id') id: string,
      @Query() query: Record<string, unknown>,
    ): Promise<AdminEventPage> {
      const acting = actingOptions(this.adminOf(request));
      await this.keys.get(id, acting); // 404 for an unknown key rather than an empty page
      const { limit, offset } = parseAdminKeyQuery({ limit: query.limit, offset: query.offset });
      const { items, total } = await this.keys.listEvents({ keyId: id, limit, offset }, acting);
      return { items, total, limit, offset };
    }

    /** The key's requests per bucket and outcome over `?days=` (1, 7, 30, 90), or `{ enabled: false }`. */
    @Get('keys/:id/usage')
    async usage(
      @Req() request: Record<string, unknown>,
      @Param('id') id: string,
      @Query() query: Record<string, unknown>,
    ): Promise<AdminUsage> {
      const acting = actingOptions(this.adminOf(request));
      await this.keys.get(id, acting); // 404 for an unknown key, with or without usage recording
      const usage = this.usageReader;
      if (!usage) return { enabled: false };
      return { enabled: true, ...(await usage.series(adminUsageQueryOf(id, query, usage.granularity), acting)) };
    }

    /** Replaces the key's scopes (only scopes the admin holds); the next request sees them. */
    @Put('keys/:id/scopes')
    async updateScopes(
      @Req() request: Record<string, unknown>,
      @Param('id') id: string,
      @Body() body: unknown,
    ): Promise<AdminKeyRow> {
      const scopes = scopesOf(body);
      return keyStatus(await this.keys.updateScopes(id, scopes, actingOptions(this.adminOf(request), { scopes })));
    }

    /** Edits name, metadata, expiry, rate limit or IP allowlist (`null` clears); one `updated` audit event. */
    @Patch('keys/:id')
    async update(
      @Req() request: Record<string, unknown>,
      @Param('id') id: string,
      @Body() body: unknown,
    ): Promise<AdminKeyRow> {
      const patch = updateOf(body);
      const admin = this.adminOf(request);
      const { scopes } = await this.keys.get(id, actingOptions(admin));
      return keyStatus(await this.keys.update(id, patch, actingOptions(admin, { scopes })));
    }

    /** Disables the key (reversible): the next request with it gets 401. */
    @Post('keys/:id/disable')
    @HttpCode(200)
    async disable(
      @Req() request: Record<string, unknown>,
      @Param('id') id: string,
      @Body() body: unknown,
    ): Promise<AdminKeyRow> {
      return keyStatus(await this.keys.disable(id, reasonOf(body), actingOptions(this.adminOf(request))));
    }

    /** Enables a disabled key (it gives power back: the admin must hold its scopes). */
    @Post('keys/:id/enable')
    @HttpCode(200)
    async enable(@Req() request: Record<string, unknown>, @Param('id') id: string): Promise<AdminKeyRow> {
      const admin = this.adminOf(request);
      const { scopes } = await this.keys.get(id, actingOptions(admin));
      return keyStatus(await this.keys.enable(id, actingOptions(admin, { scopes })));
    }

    /**
     * Adds credits (`{ add }`) or sets the balance (`{ set }`). The admin must
     * be allowed to manage the key (its scopes, environment and owner); an
     * admin key cannot change the credits of its own rotation family.
     */
    @Post('keys/:id/credits')
    @HttpCode(200)
    async credits(
      @Req() request: Record<string, unknown>,
      @Param('id') id: string,
      @Body() body: unknown,
    ): Promise<AdminKeyRow> {
      const change = creditsChangeOf(body);
      const admin = this.adminOf(request);
      const { scopes } = await this.keys.get(id, actingOptions(admin));
      const acting = actingOptions(admin, { scopes });
      const changed =
        'add' in change
          ? await this.keys.addCredits(id, change.add, acting)
          : await this.keys.setCredits(id, change.set, acting);
      return keyStatus(changed);
    }

    /** Revokes every live key of an owner (one the admin key reaches), after the page's confirmation: `{ revoked: n }`. */
    @Post('owners/:ownerId/revoke-all')
    @HttpCode(200)
    async revokeAll(
      @Req() request: Record<string, unknown>,
      @Param('ownerId') ownerId: string,
      @Body() body: unknown,
    ): Promise<{ revoked: number }> {
      const revoked = await this.keys.revokeAllForOwner(ownerId, reasonOf(body), actingOptions(this.adminOf(request)));
      return { revoked };
    }

    /** Replaces the key by a successor (same scopes, which the admin must hold): `201 { key, record, previous }`. */
    @Post('keys/:id/rotate')
    async rotate(
      @Req() request: Record<string, unknown>,
      @Param('id') id: string,
      @Body() body: unknown,
    ): Promise<RotatedApiKey> {
      const gracePeriodMs = gracePeriodMsOf(body);
      const admin = this.adminOf(request);
      const { scopes } = await this.keys.get(id, actingOptions(admin));
      return this.keys.rotate(id, { gracePeriodMs, ...actingOptions(admin, { scopes }) });
    }

    /** Revokes the key now; the next request with it gets 401. */
    @Post('keys/:id/revoke')
    @HttpCode(200)
    async revoke(
      @Req() request: Record<string, unknown>,
      @Param('id') id: string,
      @Body() body: unknown,
    ): Promise<AdminKeyRow> {
      const record: ApiKeyRecord = await this.keys.revoke(id, reasonOf(body), actingOptions(this.adminOf(request)));
      return keyStatus(record);
    }
  }
  for (const decorate of access) (decorate as ClassDecorator)(ApiKeyAdminApiController);
  return ApiKeyAdminApiController;
}
