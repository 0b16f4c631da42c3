import { PUBLIC_METADATA, SCOPES_METADATA } from '../../api-key.constants.js';
import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import { mergeRequirements, isValidScope, type ScopeRequirement } from '../../policies/scope-matcher.js';

/** Refuses a required scope list that could never be met, as the class loads: a configuration error. */
function requireScopes(decorator: string, scopes: string[]): void {
  if (scopes.length === 0) throw new ApiKeyConfigurationError(`@${decorator}() needs at least one scope`);
  for (const scope of scopes) {
    if (!isValidScope(scope) || scope.includes('*')) {
      throw new ApiKeyConfigurationError(
        `@${decorator}(): ${JSON.stringify(scope)} is not a valid required scope (wildcards are for grants)`,
      );
    }
  }
}

/** Stores metadata on the class, or on the method for a method decorator (as Nest's `SetMetadata`). */
function onTarget(apply: (holder: object) => void): ClassDecorator & MethodDecorator {
  const decorator = (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    apply(descriptor ? descriptor.value : target);
    return descriptor ?? target;
  };
  return decorator as ClassDecorator & MethodDecorator;
}

function addRequirement(part: ScopeRequirement): ClassDecorator & MethodDecorator {
  return onTarget((holder) => {
    const existing: ScopeRequirement | undefined = Reflect.getMetadata(SCOPES_METADATA, holder);
    Reflect.defineMetadata(SCOPES_METADATA, mergeRequirements(existing, part), holder);
  });
}

/**
 * Requires the key to hold **all** of the given scopes (directly or through a
 * wildcard grant such as `orders:*` or `*`). On a controller and on a handler,
 * both requirements apply.
 * @example
 * @Scopes('orders:read')
 * @Get('orders')
 * list() {}
 */
export function Scopes(...scopes: string[]): ClassDecorator & MethodDecorator {
  requireScopes('Scopes', scopes);
  return addRequirement({ allOf: scopes, anyOf: [] });
}

/**
 * Requires the key to hold **at least one** of the given scopes. Combines with
 * `@Scopes()` and with other `@AnyScope()` groups: every group must be met.
 * @example
 * @AnyScope('orders:read', 'orders:admin')
 */
export function AnyScope(...scopes: string[]): ClassDecorator & MethodDecorator {
  requireScopes('AnyScope', scopes);
  return addRequirement({ allOf: [], anyOf: [scopes] });
}

/**
 * Marks a route or controller as open: the guard lets every request through
 * without looking for a key. Meant for a globally installed guard.
 * @example
 * @Public()
 * @Get('health')
 * health() { return { ok: true }; }
 */
export function Public(): ClassDecorator & MethodDecorator {
  return onTarget((holder) => Reflect.defineMetadata(PUBLIC_METADATA, true, holder));
}
