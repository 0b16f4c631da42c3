import { IsIn, IsOptional, IsString, Length } from 'class-validator';
import { API_KEY_STATUSES, type ApiKeyStatus } from 'nestjs-opaque-keys';
import { PageQuery } from './page.query.js';

/** Query of `GET /keys`: `?ownerId=&status=&limit=&offset=`. */
export class ListKeysQuery extends PageQuery {
  /** Only this owner's keys. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  ownerId?: string;

  /** Only keys in this state: active, disabled, revoked, expired or used-up. */
  @IsOptional()
  @IsIn(API_KEY_STATUSES)
  status?: ApiKeyStatus;
}
