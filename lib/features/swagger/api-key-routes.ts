import type { INestApplicationContext, Type } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { APP_GUARD, ModulesContainer, Reflector } from '@nestjs/core';
import { isApiKeyGuard } from '../../module/api-key.setups.js';
import { routeRuleOf } from '../../http/route-rule.js';
import type { ScopeRequirement } from '../../policies/scope-matcher.js';

const reflector = new Reflector();

/** A route handler that `ApiKeyGuard` protects, with the scopes it requires. */
export interface GuardedRoute {
  readonly controller: Type;
  readonly methodName: string;
  readonly handler: (...args: unknown[]) => unknown;
  /** `@Scopes()` / `@AnyScope()` of the controller and the handler, merged as the guard merges them. */
  readonly requirement: ScopeRequirement;
  /** `@OptionalApiKey()` on the handler or controller (`undefined`: the module's `optional` applies). */
  readonly optional: boolean | undefined;
}

function usesGuard(target: Type | ((...args: unknown[]) => unknown)): boolean {
  const guards: unknown[] = reflector.get(GUARDS_METADATA, target) ?? [];
  return guards.some(isApiKeyGuard);
}

/** Whether an `APP_GUARD` provider (the module's `globalGuard`, or the host's own) resolved to an ApiKeyGuard. */
function hasGlobalGuard(modules: ModulesContainer): boolean {
  for (const module of modules.values()) {
    for (const [token, wrapper] of module.providers) {
      if (typeof token === 'string' && token.startsWith(APP_GUARD) && isApiKeyGuard(wrapper.instance)) return true;
    }
  }
  return false;
}

/** The names of a controller's route handlers, own and inherited. */
function routeMethodNames(controller: Type): string[] {
  const names = new Set<string>();
  for (let proto = controller.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || names.has(name)) continue;
      const value = Object.getOwnPropertyDescriptor(proto, name)?.value;
      if (typeof value === 'function' && reflector.get(METHOD_METADATA, value) !== undefined) names.add(name);
    }
  }
  return [...names];
}

/**
 * Every route of an initialized app that `ApiKeyGuard` protects: bound with
 * `@UseGuards(ApiKeyGuard)` on the controller or handler, or installed
 * globally, and not `@Public()`.
 */
export function findGuardedRoutes(app: INestApplicationContext): GuardedRoute[] {
  const modules = app.get(ModulesContainer, { strict: false });
  const global = hasGlobalGuard(modules);
  const routes: GuardedRoute[] = [];
  const seen = new Set<Type>();
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller || seen.has(controller)) continue;
      seen.add(controller);
      for (const methodName of routeMethodNames(controller)) {
        const handler = controller.prototype[methodName];
        // The rule the guard applies to this route: one derivation for both.
        const rule = routeRuleOf(controller, handler);
        if (rule.isPublic || !(global || usesGuard(controller) || usesGuard(handler))) continue;
        routes.push({ controller, methodName, handler, requirement: rule.requirement, optional: rule.optional });
      }
    }
  }
  return routes;
}
