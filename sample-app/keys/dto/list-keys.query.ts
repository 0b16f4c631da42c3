import { IsOptional, IsString, Length } from 'class-validator';
import { PageQuery } from './page.query.js';

/** Query of `GET /keys`: `?ownerId=&limit=&offset=`. */
export class ListKeysQuery extends PageQuery {
  /** Only this owner's keys. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  ownerId?: string;
}
