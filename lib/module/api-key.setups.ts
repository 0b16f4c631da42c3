import { Inject, Injectable, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import { ApiKeyGuard } from '../http/api-key.guard.js';
import { ApiKeyService } from '../lifecycle/api-key.service.js';
import { ApiKeyConfigurationError } from '../api-key.errors.js';

/** The parts of a named key setup another module may inject. */
type SetupPart = 'guard' | 'service';

/**
 * The injection token of one part of a named `ApiKeyModule` setup
 * (`ApiKeyModule.forRoot({ name })`). Two setups never share a token, so each
 * module gets the setup it asked for, whatever the module import order.
 */
export function getApiKeySetupToken(name: string, part: SetupPart): string {
  return `nestjs-opaque-keys:${name}:${part}`;
}

/** Checks a setup name: letters, digits, `-` and `_`, starting with a letter. */
export function assertValidSetupName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]{0,39}$/.test(name))
    throw new ApiKeyConfigurationError(
      `ApiKeyModule name must be a short identifier (letters, digits, - and _); got ${JSON.stringify(name)}`,
      'name',
    );
}

const namedGuards = new Map<string, Type<CanActivate>>();

/**
 * The guard of a named key setup, for `@UseGuards()`: it verifies keys with
 * that setup's options, table and verifier, and never takes another setup's
 * verdict. One class per name (as `AuthGuard('jwt')` in `@nestjs/passport`).
 * @example
 * // ApiKeyModule.forRoot({ name: 'internal', prefix: 'ik', tableName: 'internal_keys', header: 'x-internal-key' })
 * @UseGuards(ApiKeyGuardFor('internal'))
 * @Controller('internal')
 * export class InternalController {}
 */
export function ApiKeyGuardFor(name: string): Type<CanActivate> {
  assertValidSetupName(name);
  let guard = namedGuards.get(name);
  if (!guard) {
    @Injectable()
    class NamedApiKeyGuard implements CanActivate {
      constructor(@Inject(getApiKeySetupToken(name, 'guard')) readonly guard: ApiKeyGuard) {}

      canActivate(context: ExecutionContext): boolean | Promise<boolean> {
        return this.guard.canActivate(context);
      }
    }
    Object.defineProperty(NamedApiKeyGuard, 'name', { value: `ApiKeyGuard_${name}` });
    namedGuards.set(name, (guard = NamedApiKeyGuard));
  }
  return guard;
}

/**
 * Injects the `ApiKeyService` of a named key setup.
 * @example
 * constructor(@InjectApiKeyService('internal') private readonly internalKeys: ApiKeyService) {}
 */
export function InjectApiKeyService(name: string): PropertyDecorator & ParameterDecorator {
  assertValidSetupName(name);
  return Inject(getApiKeySetupToken(name, 'service'));
}

/** Whether a `@UseGuards()` entry or an `APP_GUARD` instance is an API key guard (any setup, subclasses too). */
export function isApiKeyGuard(guard: unknown): boolean {
  if (guard instanceof ApiKeyGuard) return true;
  if (typeof guard !== 'function') return [...namedGuards.values()].some((named) => guard instanceof named);
  return (
    guard === ApiKeyGuard || guard.prototype instanceof ApiKeyGuard || [...namedGuards.values()].includes(guard as Type)
  );
}

/** @internal The aliases a named setup exports instead of the class tokens. */
export function namedSetupProviders(name: string) {
  return [
    { provide: getApiKeySetupToken(name, 'guard'), useExisting: ApiKeyGuard },
    { provide: getApiKeySetupToken(name, 'service'), useExisting: ApiKeyService },
  ];
}
