import { IsOptional, IsString, MaxLength } from 'class-validator';

/** Body of `POST /keys/:id/revoke`. */
export class RevokeKeyDto {
  /** Why, for the audit trail, e.g. "leaked in a CI log". */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  reason?: string;
}
