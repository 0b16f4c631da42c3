import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { API_KEY_REQUEST_PROPERTY, type ApiKeyPrincipal } from '../../verification/api-key.principal.js';
import { requestOf } from '../request-context.js';

/**
 * Hands the handler the verified key's principal (or one of its fields).
 * Set by `ApiKeyGuard`; `undefined` on `@Public()` routes. Works in GraphQL resolvers too.
 * @example
 * @Get('me')
 * me(@CurrentApiKey() key: ApiKeyPrincipal) { return key; }
 * @Get('mine')
 * mine(@CurrentApiKey('ownerId') ownerId: string) {}
 */
export const CurrentApiKey = createParamDecorator(currentApiKey);

/** @internal What `@CurrentApiKey()` reads; the boot check recognizes the decorator by it. */
export const CURRENT_API_KEY_FACTORY = currentApiKey;

function currentApiKey(field: keyof ApiKeyPrincipal | undefined, context: ExecutionContext): unknown {
  const principal: ApiKeyPrincipal | undefined = requestOf(context)[API_KEY_REQUEST_PROPERTY];
  return field ? principal?.[field] : principal;
}
