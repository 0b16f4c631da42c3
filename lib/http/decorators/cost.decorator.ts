import { COST_METADATA } from '../../api-key.constants.js';
import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import { MAX_CREDITS } from '../../policies/credits.js';

/** The cost of a route without `@Cost()`: one credit (one use of a `maxUses` key). */
export const DEFAULT_ROUTE_COST = 1;

/**
 * How many credits a request to this route spends from a key with credits
 * (or a use limit); keys without credits spend nothing and are not written.
 * On a controller it sets the default of its handlers; on a handler it wins.
 * `@Cost(0)` makes a route free. The spend is one conditional UPDATE, so
 * concurrent requests never spend more than the key has.
 * @throws ApiKeyConfigurationError when `credits` is not a whole number from 0 to 2e9 (as the class loads)
 * @example
 * @Cost(10)
 * @Scopes('reports:create')
 * @Post('reports')
 * create() {}
 */
export function Cost(credits: number = DEFAULT_ROUTE_COST): ClassDecorator & MethodDecorator {
  if (!Number.isInteger(credits) || credits < 0 || credits > MAX_CREDITS)
    throw new ApiKeyConfigurationError(
      `@Cost(): ${String(credits)} is not a whole number of credits from 0 to ${MAX_CREDITS}`,
    );
  const decorator = (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    Reflect.defineMetadata(COST_METADATA, credits, descriptor ? descriptor.value : target);
    return descriptor ?? target;
  };
  return decorator as ClassDecorator & MethodDecorator;
}

/** The cost of a handler of a controller: the handler's `@Cost`, else the controller's, else 1. */
export function routeCost(controller: object, handler: object): number {
  return (
    Reflect.getMetadata(COST_METADATA, handler) ?? Reflect.getMetadata(COST_METADATA, controller) ?? DEFAULT_ROUTE_COST
  );
}
