import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** The longest grace period the sample app allows: 30 days. */
export const MAX_GRACE_PERIOD_SECONDS = 30 * 24 * 3600;

/** Body of `POST /keys/:id/rotate`. */
export class RotateKeyDto {
  /** How long the old key keeps working, in seconds. Default 0: it stops now. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_GRACE_PERIOD_SECONDS)
  gracePeriodSeconds?: number;
}
