import { ArrayMaxSize, IsArray, IsNotEmpty, IsObject, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { IsApiKeyScopes, IsFutureIsoDateTime } from './key.validators.js';

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

  /** When the key stops working: an ISO 8601 date-time in the future. Default never. */
  @IsOptional()
  @IsFutureIsoDateTime()
  expiresAt?: string;

  /** Free-form JSON object (at most 4 KiB); never secrets. */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}
