import type { INestApplicationContext, Type } from '@nestjs/common';
import { APP_GUARD, ModulesContainer } from '@nestjs/core';
import { PUBLIC_METADATA, SCOPES_METADATA } from '../../api-key.constants.js';
import { ApiKeyGuard } from '../../http/api-key.guard.js';
import { mergeRequirements, type ScopeRequirement } from '../../policies/scope-matcher.js';

/** Nest's metadata keys (`@nestjs/common/constants`, stable since Nest 5; not exported from the package root). */
const GUARDS_METADATA = '__guards__';
const METHOD_METADATA = 'method';

/** A route handler that `ApiKeyGuard` protects, with the scopes it requires. */
export interface GuardedRoute {
  readonly controller: Type;
  readonly methodName: string;
  readonly handler: (...args: unknown[]) => unknown;
  /** `@Scopes()` / `@AnyScope()` of the controller and the handler, merged as the guard merges them. */
  readonly requirement: ScopeRequirement;
}

/** Whether a `@UseGuards()` entry is `ApiKeyGuard`, a subclass, or an instance of either. */
function isApiKeyGuard(guard: unknown): boolean {
  if (guard instanceof ApiKeyGuard) return true;
  return typeof guard === 'function' && (guard === ApiKeyGuard || guard.prototype instanceof ApiKeyGuard);
}

function usesGuard(target: object): boolean {
  const guards: unknown[] = Reflect.getMetadata(GUARDS_METADATA, target) ?? [];
  return guards.some(isApiKeyGuard);
}

/** Whether an `APP_GUARD` provider (the module's `globalGuard`, or the host's own) resolved to an ApiKeyGuard. */
function hasGlobalGuard(modules: ModulesContainer): boolean {
  for (const module of modules.values()) {
    for (const [token, wrapper] of module.providers) {
      if (typeof token === 'string' && token.startsWith(APP_GUARD) && wrapper.instance instanceof ApiKeyGuard)
        return true;
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
      if (typeof value === 'function' && Reflect.hasMetadata(METHOD_METADATA, value)) names.add(name);
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
        const isPublic =
          Reflect.getMetadata(PUBLIC_METADATA, handler) ?? Reflect.getMetadata(PUBLIC_METADATA, controller);
        if (isPublic || !(global || usesGuard(controller) || usesGuard(handler))) continue;
        const requirement = mergeRequirements(
          Reflect.getMetadata(SCOPES_METADATA, controller),
          Reflect.getMetadata(SCOPES_METADATA, handler),
        );
        routes.push({ controller, methodName, handler, requirement });
      }
    }
  }
  return routes;
}
