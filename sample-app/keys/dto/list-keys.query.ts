import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

/** Query of `GET /keys`: `?ownerId=&limit=&offset=`. */
export class ListKeysQuery {
  /** Only this owner's keys. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  ownerId?: string;

  /** Page size, 1-100. Default 50. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** Keys to skip. Default 0. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset?: number;
}
