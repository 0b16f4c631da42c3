import type { ExecutionContext } from '@nestjs/common';
import { OPTIONAL_METADATA } from '../../api-key.constants.js';
import { API_KEY_REQUEST_PROPERTY, type ApiKeyPrincipal } from '../../verification/api-key.principal.js';
import { requestOf } from '../request-context.js';

/**
 * Makes the API key optional on a route or controller: a request that sends
 * no key at all passes the guard without a principal ("not mine"), for the
 * next guard or the handler to decide; a key that is sent is still checked
 * (a bad one is the usual 401, a missing scope 403). `@OptionalApiKey(false)`
 * makes a route strict again under the module's `optional: true`.
 * Pair it with a guard that requires one of the credentials, see {@link apiKeyPrincipalOf}.
 * @example
 * @OptionalApiKey()
 * @UseGuards(ApiKeyGuard, JwtOrApiKeyGuard) // ApiKeyGuard first: it checks a key if one is sent
 * @Get('reports')
 * reports() {}
 */
export function OptionalApiKey(optional = true): ClassDecorator & MethodDecorator {
  const decorator = (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    Reflect.defineMetadata(OPTIONAL_METADATA, optional, descriptor ? descriptor.value : target);
    return descriptor ?? target;
  };
  return decorator as ClassDecorator & MethodDecorator;
}

/**
 * The principal the API key guard attached in this execution, or `undefined`
 * (no key was sent on an optional route, or the guard has not run). For a
 * guard placed after `ApiKeyGuard` that accepts "a key or something else".
 * @example
 * canActivate(context: ExecutionContext) {
 *   return apiKeyPrincipalOf(context) !== undefined || this.verifyJwt(context);
 * }
 */
export function apiKeyPrincipalOf(context: ExecutionContext): ApiKeyPrincipal | undefined {
  return requestOf(context)[API_KEY_REQUEST_PROPERTY];
}
