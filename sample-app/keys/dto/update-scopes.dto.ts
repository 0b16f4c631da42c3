import { ArrayMaxSize, IsArray } from 'class-validator';
import { IsApiKeyScopes } from './key.validators.js';

/** Body of `PUT /keys/:id/scopes`. */
export class UpdateScopesDto {
  /** The key's new scopes (replacing the old ones), at most 100. */
  @IsArray()
  @ArrayMaxSize(100)
  @IsApiKeyScopes()
  scopes!: string[];
}
