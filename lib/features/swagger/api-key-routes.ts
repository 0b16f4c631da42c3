import type { INestApplicationContext, Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { routeRuleOf } from '../../http/route-rule.js';
import { hasGlobalApiKeyGuard, isRouteHandler, methodNames, usesApiKeyGuard } from '../../module/route-coverage.js';
import type { ScopeRequirement } from '../../policies/scope-matcher.js';

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

/**
 * Every route of an initialized app that `ApiKeyGuard` protects: bound with
 * `@UseGuards(ApiKeyGuard)` on the controller or handler, or installed
 * globally, and not `@Public()`.
 */
export function findGuardedRoutes(app: INestApplicationContext): GuardedRoute[] {
  const modules = app.get(ModulesContainer, { strict: false });
  const global = hasGlobalApiKeyGuard(modules);
  const routes: GuardedRoute[] = [];
  const seen = new Set<Type>();
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller || seen.has(controller)) continue;
      seen.add(controller);
      for (const methodName of methodNames(controller, isRouteHandler)) {
        const handler = controller.prototype[methodName];
        // The rule the guard applies to this route: one derivation for both.
        const rule = routeRuleOf(controller, handler);
        if (rule.isPublic || !(global || usesApiKeyGuard(controller) || usesApiKeyGuard(handler))) continue;
        routes.push({ controller, methodName, handler, requirement: rule.requirement, optional: rule.optional });
      }
    }
  }
  return routes;
}
