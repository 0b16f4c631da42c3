import { IsIn, IsOptional, IsString, Length } from 'class-validator';
import { PageQuery } from './page.query.js';

/** Query of `GET /keys`: `?ownerId=&status=&limit=&offset=`. */
export class ListKeysQuery extends PageQuery {
  /** Only this owner's keys. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  ownerId?: string;

  /** Only keys in this state: active, disabled, revoked or expired. */
  @IsOptional()
  @IsIn(['active', 'disabled', 'revoked', 'expired'])
  status?: 'active' | 'disabled' | 'revoked' | 'expired';
}
