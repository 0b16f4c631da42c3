import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { KEY_ENVIRONMENTS } from '../../config/api-keys.options.js';
import { IsApiKeyScopes, IsFutureIsoDateTime } from './key.validators.js';
import { RateLimitDto } from './rate-limit.dto.js';

/** Body of `POST /keys`. */
export class IssueKeyDto {
  /** A human name, e.g. "billing export". */
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name!: string;

  /** Granted scopes, at most 100, e.g. `["orders:read"]` or `["orders:*"]`. */
  @IsArray()
  @ArrayMaxSize(100)
  @IsApiKeyScopes()
  scopes!: string[];

  /** The tenant the key acts for. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  ownerId?: string;

  /**
   * When the key stops working: an ISO 8601 date-time in the future, at most
   * 365 days ahead (the library refuses longer ones). Default: 90 days from now.
   */
  @IsOptional()
  @IsFutureIsoDateTime()
  expiresAt?: string;

  /** Free-form JSON object (at most 4 KiB); never secrets. */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  /** `live` (default: `sk_live_...`, live data) or `test` (`sk_test_...`, sandbox data only). */
  @IsOptional()
  @IsIn(KEY_ENVIRONMENTS)
  environment?: string;

  /** How many requests the key may make (1 = single use). Default unlimited. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2_000_000_000)
  maxUses?: number;

  /** The key's own rate limit. Default: the app's 600 requests a minute. */
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RateLimitDto)
  rateLimit?: RateLimitDto;

  /**
   * IPv4 / IPv6 addresses and CIDR ranges the key may be used from, e.g.
   * `["203.0.113.0/24", "2001:db8::/32"]`. Default: any address.
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  allowedIps?: string[];
}
