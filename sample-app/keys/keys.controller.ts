import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Query,
  UseFilters,
} from '@nestjs/common';
import {
  ApiKeyExceptionFilter,
  ApiKeyService,
  CurrentApiKey,
  Scopes,
  type ApiKeyEventColumns,
  type ApiKeyPage,
  type ApiKeyPrincipal,
  type ApiKeyRecord,
  type IssuedApiKey,
  type RotatedApiKey,
} from 'nestjs-opaque-keys';
import { ApiKeyLastAddress, type ApiKeyLastUse } from 'nestjs-opaque-keys/last-address';
import { ApiKeyUsageReader, type ApiKeyUsageSeries } from 'nestjs-opaque-keys/usage';
import { IssueKeyDto } from './dto/issue-key.dto.js';
import { ListKeysQuery } from './dto/list-keys.query.js';
import { PageQuery } from './dto/page.query.js';
import { RevokeKeyDto } from './dto/revoke-key.dto.js';
import { RotateKeyDto } from './dto/rotate-key.dto.js';
import { UpdateScopesDto } from './dto/update-scopes.dto.js';
import { DisableKeyDto } from './dto/disable-key.dto.js';
import { UpdateKeyDto } from './dto/update-key.dto.js';

/** One page of a key's audit events. */
export interface KeyEventPage {
  readonly items: ApiKeyEventColumns[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

/**
 * The acting key of a request: named in the audit log, and held to what it
 * holds (no scopes, environment, owner or lifetime beyond its own, no gain
 * for its own rotation family; docs/delegation.md), on reads as on changes.
 */
function actorOf(caller: ApiKeyPrincipal): { actor: string; actingAs: ApiKeyPrincipal } {
  return { actor: `key:${caller.id}`, actingAs: caller };
}

/**
 * Key management over HTTP, for holders of `keys:admin`. Bodies are checked
 * by the DTOs (400); the library's errors are mapped by
 * `ApiKeyExceptionFilter`: policy violations 400, delegation refused 403,
 * unknown id 404, already revoked or rotated 409. The calling key acts within
 * what it holds: it grants only its own scopes, a test key reads and manages
 * only test keys, a key with an owner only that owner's keys (unless it holds
 * `keys:any-owner`), and no key outlives it. Plaintext keys appear only in the
 * responses of issue and rotate. Every change is audited with the calling key as actor.
 */
@Controller('keys')
@Scopes('keys:admin')
@UseFilters(ApiKeyExceptionFilter)
export class KeysController {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly usageReader: ApiKeyUsageReader,
    private readonly lastAddress: ApiKeyLastAddress,
  ) {}

  /** Issues a key: `201 { key, record }`, the only time the key is shown. */
  @Post()
  issue(@CurrentApiKey() caller: ApiKeyPrincipal, @Body() body: IssueKeyDto): Promise<IssuedApiKey> {
    return this.keys.issue({
      name: body.name,
      scopes: body.scopes,
      ownerId: body.ownerId,
      expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
      metadata: body.metadata,
      environment: body.environment,
      maxUses: body.maxUses,
      rateLimit: body.rateLimit && { limit: body.rateLimit.limit, windowMs: body.rateLimit.windowMs },
      allowedIps: body.allowedIps,
      ...actorOf(caller),
    });
  }

  /** A page of keys the caller reaches, newest first (records only: no key, no hash). */
  @Get()
  list(@CurrentApiKey() caller: ApiKeyPrincipal, @Query() query: ListKeysQuery): Promise<ApiKeyPage> {
    const { ownerId, status, limit, offset } = query;
    return this.keys.list({ ownerId, status, limit, offset }, actorOf(caller));
  }

  /** One key's record. */
  @Get(':id')
  get(@CurrentApiKey() caller: ApiKeyPrincipal, @Param('id', ParseUUIDPipe) id: string): Promise<ApiKeyRecord> {
    return this.keys.get(id, actorOf(caller));
  }

  /** The key's audit log, newest first: issued, rotated, revoked, scopes_changed, refused uses, reuse_detected. */
  @Get(':id/events')
  async events(
    @CurrentApiKey() caller: ApiKeyPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: PageQuery,
  ): Promise<KeyEventPage> {
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    // With actingAs the key must exist and be the caller's to read: 404 or 403 rather than an empty page.
    const { items, total } = await this.keys.listEvents({ keyId: id, limit, offset }, actorOf(caller));
    return { items, total, limit, offset };
  }

  /** The key's requests per hour and outcome over the last 24 hours (written behind: up to a minute late). */
  @Get(':id/usage')
  usage(@CurrentApiKey() caller: ApiKeyPrincipal, @Param('id', ParseUUIDPipe) id: string): Promise<ApiKeyUsageSeries> {
    const now = Date.now();
    // With actingAs the key must exist and be the caller's to read (404, 403).
    return this.usageReader.series(
      { keyId: id, from: new Date(now - 24 * 3_600_000), to: new Date(now) },
      actorOf(caller),
    );
  }

  /**
   * Where the key was last used from: its network (/24 or /48), and when; `null` when not used since the app
   * records it (written behind: up to a minute late).
   */
  @Get(':id/last-address')
  async lastAddressOf(
    @CurrentApiKey() caller: ApiKeyPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<{ lastUsedFrom: ApiKeyLastUse | null }> {
    await this.keys.get(id, actorOf(caller)); // the key must exist and be the caller's to read (404, 403)
    return { lastUsedFrom: await this.lastAddress.of(id) };
  }

  /** Replaces the key by a successor: `201 { key, record, previous }`. */
  @Post(':id/rotate')
  rotate(
    @CurrentApiKey() caller: ApiKeyPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: RotateKeyDto,
  ): Promise<RotatedApiKey> {
    return this.keys.rotate(id, { gracePeriodMs: (body.gracePeriodSeconds ?? 0) * 1000, ...actorOf(caller) });
  }

  /** Revokes the key now; the next request with it gets 401. */
  @Post(':id/revoke')
  @HttpCode(HttpStatus.OK)
  revoke(
    @CurrentApiKey() caller: ApiKeyPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: RevokeKeyDto,
  ): Promise<ApiKeyRecord> {
    return this.keys.revoke(id, body.reason, actorOf(caller));
  }

  /** Replaces the key's scopes; the next request sees them. */
  @Put(':id/scopes')
  updateScopes(
    @CurrentApiKey() caller: ApiKeyPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateScopesDto,
  ): Promise<ApiKeyRecord> {
    return this.keys.updateScopes(id, body.scopes, actorOf(caller));
  }

  /** Changes name, metadata, expiry, rate limit or IP allowlist; the next request sees them. */
  @Patch(':id')
  update(
    @CurrentApiKey() caller: ApiKeyPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateKeyDto,
  ): Promise<ApiKeyRecord> {
    const { rateLimit, expiresAt, ...rest } = body;
    return this.keys.update(
      id,
      {
        ...rest,
        ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt) } : {}),
        ...(rateLimit !== undefined
          ? { rateLimit: rateLimit && { limit: rateLimit.limit, windowMs: rateLimit.windowMs } }
          : {}),
      },
      actorOf(caller),
    );
  }

  /** Disables the key (reversibly): it gets 401 until enabled. */
  @Post(':id/disable')
  @HttpCode(HttpStatus.OK)
  disable(
    @CurrentApiKey() caller: ApiKeyPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: DisableKeyDto,
  ): Promise<ApiKeyRecord> {
    return this.keys.disable(id, body.reason, actorOf(caller));
  }

  /** Enables a disabled key. */
  @Post(':id/enable')
  @HttpCode(HttpStatus.OK)
  enable(@CurrentApiKey() caller: ApiKeyPrincipal, @Param('id', ParseUUIDPipe) id: string): Promise<ApiKeyRecord> {
    return this.keys.enable(id, actorOf(caller));
  }
}
