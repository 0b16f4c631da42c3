import type { Type } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { APP_GUARD, type ModulesContainer, Reflector } from '@nestjs/core';
import { COST_METADATA, OPTIONAL_METADATA, PUBLIC_METADATA, SCOPES_METADATA } from '../api-key.constants.js';
import { ApiKeyConfigurationError } from '../api-key.errors.js';
import { CURRENT_API_KEY_FACTORY } from '../http/decorators/current-api-key.decorator.js';
import { isApiKeyGuard } from './api-key.setups.js';

const reflector = new Reflector();
type Handler = (...args: unknown[]) => unknown;

/** Whether `@UseGuards()` on a class or handler lists an API key guard (any setup, subclasses too). */
export function usesApiKeyGuard(target: Type | Handler): boolean {
  const guards: unknown[] = reflector.get(GUARDS_METADATA, target) ?? [];
  return guards.some(isApiKeyGuard);
}

/** Whether an `APP_GUARD` provider (the module's `globalGuard`, or the host's own) resolved to an API key guard. */
export function hasGlobalApiKeyGuard(modules: ModulesContainer): boolean {
  for (const module of modules.values()) {
    for (const [token, wrapper] of module.providers) {
      if (typeof token === 'string' && token.startsWith(APP_GUARD) && isApiKeyGuard(wrapper.instance)) return true;
    }
  }
  return false;
}

/** The names of a class's methods (own and inherited) that `accept` keeps. */
export function methodNames(type: Type, accept: (method: Handler, name: string) => boolean): string[] {
  const names = new Set<string>();
  for (let proto = type.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || names.has(name)) continue;
      const value = Object.getOwnPropertyDescriptor(proto, name)?.value;
      if (typeof value === 'function' && accept(value as Handler, name)) names.add(name);
    }
  }
  return [...names];
}

/** Whether a method is an HTTP route handler (`@Get()`, `@Post()`...). */
export function isRouteHandler(method: Handler): boolean {
  return reflector.get(METHOD_METADATA, method) !== undefined;
}

/** The library's decorators on a handler (or its class) that only an API key guard enforces or fills. */
function keyDecoratorsOf(type: Type, method: Handler, name: string): string[] {
  const found: string[] = [];
  for (const target of [method, type]) {
    if (reflector.get(SCOPES_METADATA, target) !== undefined) found.push('@Scopes/@AnyScope');
    if (reflector.get(COST_METADATA, target) !== undefined) found.push('@Cost');
    if (reflector.get(OPTIONAL_METADATA, target) !== undefined) found.push('@OptionalApiKey');
  }
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, type, name) ?? {}) as Record<string, { factory?: unknown }>;
  if (Object.values(args).some((arg) => arg.factory === CURRENT_API_KEY_FACTORY)) found.push('@CurrentApiKey');
  return [...new Set(found)];
}

/**
 * The handlers of an initialized app (controllers, resolvers, gateways, message handlers) that carry the
 * library's decorators while no API key guard covers them (none global, none on their class or method): on
 * those, `@Scopes()` protects nothing and `@CurrentApiKey()` is always `undefined`. `@Public()` handlers are left
 * out (they opt out of the guard on purpose).
 */
export function uncoveredHandlers(modules: ModulesContainer): string[] {
  if (hasGlobalApiKeyGuard(modules)) return [];
  const found: string[] = [];
  const seen = new Set<Type>();
  for (const module of modules.values()) {
    for (const wrapper of [...module.controllers.values(), ...module.providers.values()]) {
      const type = wrapper.metatype as Type | null;
      if (!type || typeof type !== 'function' || !type.prototype || seen.has(type)) continue;
      seen.add(type);
      if (usesApiKeyGuard(type)) continue;
      for (const name of methodNames(type, () => true)) {
        const method = type.prototype[name] as Handler;
        if (usesApiKeyGuard(method) || reflector.getAllAndOverride(PUBLIC_METADATA, [method, type])) continue;
        const decorators = keyDecoratorsOf(type, method, name);
        if (decorators.length > 0) found.push(`${type.name}.${name} (${decorators.join(', ')})`);
      }
    }
  }
  return found;
}

/**
 * Fails the boot when a handler carries the library's decorators but no API key guard covers it (see
 * {@link uncoveredHandlers}), naming the handlers and the fixes.
 * @throws ApiKeyConfigurationError
 */
export function assertHandlersCovered(modules: ModulesContainer): void {
  const uncovered = uncoveredHandlers(modules);
  if (uncovered.length === 0) return;
  throw new ApiKeyConfigurationError(
    `nestjs-opaque-keys: ${uncovered.length} handler(s) carry the library's decorators, but no ApiKeyGuard covers ` +
      `them, so no key is checked there and their scopes protect nothing: ${uncovered.join('; ')}. ` +
      'Install the guard globally (ApiKeyModule.forRoot({ globalGuard: true })) or bind it on the controller ' +
      '(@UseGuards(ApiKeyGuard), WsApiKeyGuard, RpcApiKeyGuard, ApiKeyGuardFor(name)). If another guard of yours ' +
      'runs ApiKeyGuard itself, set ApiKeyModule.forRoot({ routeCheck: false }).',
    'routeCheck',
  );
}
