import { Body, Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Put, Query, UseFilters } from '@nestjs/common';
import {
  ApiKeyExceptionFilter,
  ApiKeyService,
  Scopes,
  type ApiKeyPage,
  type ApiKeyRecord,
  type IssuedApiKey,
  type RotatedApiKey,
} from 'nestjs-api-keys';
import { IssueKeyDto } from './dto/issue-key.dto.js';
import { ListKeysQuery } from './dto/list-keys.query.js';
import { RevokeKeyDto } from './dto/revoke-key.dto.js';
import { RotateKeyDto } from './dto/rotate-key.dto.js';
import { UpdateScopesDto } from './dto/update-scopes.dto.js';

/**
 * Key management over HTTP, for holders of `keys:admin`. Bodies are checked
 * by the DTOs (400); the library's errors are mapped by
 * `ApiKeyExceptionFilter`: unknown id 404, already revoked or rotated 409.
 * Plaintext keys appear only in the responses of issue and rotate.
 */
@Controller('keys')
@Scopes('keys:admin')
@UseFilters(ApiKeyExceptionFilter)
export class KeysController {
  constructor(private readonly keys: ApiKeyService) {}

  /** Issues a key: `201 { key, record }`, the only time the key is shown. */
  @Post()
  issue(@Body() body: IssueKeyDto): Promise<IssuedApiKey> {
    return this.keys.issue({
      name: body.name,
      scopes: body.scopes,
      ownerId: body.ownerId,
      expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
      metadata: body.metadata,
    });
  }

  /** A page of keys, newest first (records only: no key, no hash). */
  @Get()
  list(@Query() query: ListKeysQuery): Promise<ApiKeyPage> {
    return this.keys.list({ ownerId: query.ownerId, limit: query.limit, offset: query.offset });
  }

  /** One key's record. */
  @Get(':id')
  get(@Param('id', ParseUUIDPipe) id: string): Promise<ApiKeyRecord> {
    return this.keys.get(id);
  }

  /** Replaces the key by a successor: `201 { key, record, previous }`. */
  @Post(':id/rotate')
  rotate(@Param('id', ParseUUIDPipe) id: string, @Body() body: RotateKeyDto): Promise<RotatedApiKey> {
    return this.keys.rotate(id, { gracePeriodMs: (body.gracePeriodSeconds ?? 0) * 1000 });
  }

  /** Revokes the key now; the next request with it gets 401. */
  @Post(':id/revoke')
  @HttpCode(HttpStatus.OK)
  revoke(@Param('id', ParseUUIDPipe) id: string, @Body() body: RevokeKeyDto): Promise<ApiKeyRecord> {
    return this.keys.revoke(id, body.reason);
  }

  /** Replaces the key's scopes; the next request sees them. */
  @Put(':id/scopes')
  updateScopes(@Param('id', ParseUUIDPipe) id: string, @Body() body: UpdateScopesDto): Promise<ApiKeyRecord> {
    return this.keys.updateScopes(id, body.scopes);
  }
}
