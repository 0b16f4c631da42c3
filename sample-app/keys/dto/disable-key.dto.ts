import { IsOptional, IsString, MaxLength } from 'class-validator';

/** Body of `POST /keys/:id/disable`. */
export class DisableKeyDto {
  /** Why, for the audit trail, e.g. "invoice overdue". */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  reason?: string;
}
