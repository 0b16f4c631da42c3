import { BadRequestException, Body, ConflictException, Controller, Headers, Post, UseFilters } from '@nestjs/common';
import {
  ApiKeyExceptionFilter,
  ApiKeyService,
  ApiKeyStateError,
  CurrentApiKey,
  type ApiKeyPrincipal,
  type RotatedApiKey,
} from 'nestjs-opaque-keys';
import { RotateKeyDto } from './dto/rotate-key.dto.js';
import { presentedKey } from './presented-key.js';

/**
 * Self-service for any valid key, whatever its scopes: a client renews its
 * own key without an admin.
 *
 * The route stays behind the global guard, so everything the guard enforces
 * holds here too (one 401 for every invalid key, rate limits, use limits); the
 * handler rotates exactly the key the guard authenticated, read again from the
 * same headers. Reuse detection: presenting a key that was already rotated
 * away, while its grace period still lets it through the guard, revokes its
 * whole rotation family (409). A key rotated without grace is revoked at once
 * and gets the guard's 401 like any dead key.
 */
@Controller('keys/self')
@UseFilters(ApiKeyExceptionFilter)
export class SelfKeyController {
  constructor(private readonly keys: ApiKeyService) {}

  /** Rotates the calling key: `201 { key, record, previous }`. `gracePeriodSeconds` keeps the old key working that long. */
  @Post('rotate')
  async rotate(
    @CurrentApiKey() caller: ApiKeyPrincipal,
    @Headers() headers: Record<string, string | string[] | undefined>,
    @Body() body: RotateKeyDto,
  ): Promise<RotatedApiKey> {
    const key = presentedKey(headers);
    if (key === undefined)
      throw new BadRequestException('Send the key to rotate as Authorization: Bearer or X-API-Key');
    try {
      return await this.keys.rotateByKey(key, {
        gracePeriodMs: (body.gracePeriodSeconds ?? 0) * 1000,
        actor: `key:${caller.id}`,
      });
    } catch (error) {
      if (error instanceof ApiKeyStateError && error.state === 'rotated') {
        throw new ConflictException(
          `API key ${error.id} was already rotated: reuse detected, every key of its rotation family is now revoked`,
        );
      }
      throw error;
    }
  }
}
