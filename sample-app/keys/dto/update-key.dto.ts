import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsFutureIsoDateTime } from './key.validators.js';
import { RateLimitDto } from './rate-limit.dto.js';

/** Body of `PATCH /keys/:id`: only the fields given change; `null` clears metadata, rateLimit and allowedIps. */
export class UpdateKeyDto {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name?: string;

  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsObject()
  metadata?: Record<string, unknown> | null;

  /** A new expiry, within 365 days of the key's creation and no later than the calling key's. */
  @IsOptional()
  @IsFutureIsoDateTime()
  expiresAt?: string;

  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsObject()
  @ValidateNested()
  @Type(() => RateLimitDto)
  rateLimit?: RateLimitDto | null;

  /** IPv4 / IPv6 addresses and CIDR ranges (checked by the library: 400 naming a bad entry). */
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  allowedIps?: string[] | null;
}
