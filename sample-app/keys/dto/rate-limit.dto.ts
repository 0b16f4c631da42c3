import { IsInt, Max, Min } from 'class-validator';

/** A key's own rate limit in `POST /keys`: `{ "limit": 100, "windowMs": 60000 }`. */
export class RateLimitDto {
  /** Requests allowed per window, at least 1. */
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  limit!: number;

  /** The window in ms, from 1 second to 24 hours. */
  @IsInt()
  @Min(1000)
  @Max(86_400_000)
  windowMs!: number;
}
