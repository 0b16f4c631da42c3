import {
  BadRequestException,
  Body,
  Controller,
  Header,
  HttpCode,
  Post,
  UseFilters,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { ApiKeyExceptionFilter } from '../../http/api-key.exception-filter.js';
import { ApiKeyVerifier } from '../../verification/api-key.verifier.js';
import { Scopes } from '../../http/decorators/scopes.decorator.js';
import { IntrospectionClientGuard } from './introspection-client.guard.js';
import { toIntrospectionResponse, type IntrospectionResponse } from './introspection-response.js';

/** Where the introspection endpoint listens and the scope its callers need. */
export interface IntrospectionOptions {
  /** Route path. Default `oauth/introspect`. */
  path?: string;
  /** Scope required of the calling service's own key. Default `keys:introspect`. */
  scope?: string;
}

/** Longest `token` accepted; longer strings cannot be keys and are refused unread. */
const MAX_TOKEN_LENGTH = 1024;

function tokenOf(body: unknown): string {
  const token = typeof body === 'object' && body !== null ? (body as { token?: unknown }).token : undefined;
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new BadRequestException({ error: 'invalid_request', error_description: 'the "token" parameter is required' });
  }
  return token;
}

/**
 * Builds an RFC 7662 token introspection controller: `POST <path>` with a
 * form (`application/x-www-form-urlencoded`) or JSON body `token=<key>`
 * (`token_type_hint` is ignored) answers `{ active: true, scope, client_id,
 * sub, exp, token_type: "api_key", ext }` for a live key and `{ active: false }`
 * for anything else. The caller is another service authenticating with its
 * own key, which must hold `scope`: as `Authorization: Bearer`, the module's
 * header, or the OAuth client secret of HTTP Basic or a `client_secret` body
 * field (`client_secret_basic` / `client_secret_post`; `client_id` is
 * ignored), see {@link IntrospectionClientGuard}. Introspection never spends a use of a key
 * with a use limit, and answers `Cache-Control: no-store`. A database outage
 * gives 503 with `Retry-After`.
 * @example
 * @Module({ controllers: [createIntrospectionController({ scope: 'keys:introspect' })] })
 * export class AppModule {}
 */
export function createIntrospectionController({
  path = 'oauth/introspect',
  scope = 'keys:introspect',
}: IntrospectionOptions = {}): Type {
  @Controller(path)
  @UseGuards(IntrospectionClientGuard)
  @UseFilters(ApiKeyExceptionFilter)
  @Scopes(scope)
  class IntrospectionController {
    constructor(private readonly verifier: ApiKeyVerifier) {}

    @Post()
    @HttpCode(200)
    @Header('Cache-Control', 'no-store')
    @Header('Pragma', 'no-cache')
    async introspect(@Body() body: unknown): Promise<IntrospectionResponse> {
      // verify() only reads: unlike ApiKeyService.verify, no use is spent.
      return toIntrospectionResponse(await this.verifier.verify(tokenOf(body)));
    }
  }
  return IntrospectionController;
}
