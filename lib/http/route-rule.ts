import type { Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { OPTIONAL_METADATA, PUBLIC_METADATA, SCOPES_METADATA } from '../api-key.constants.js';
import { routeCost } from './decorators/cost.decorator.js';
import { describeRequirement, mergeRequirements, type ScopeRequirement } from '../policies/scope-matcher.js';

/** What a route asks of the API key guard, from its decorators and the controller's. */
export interface RouteRule {
  /** `@Public()`: the guard lets every request through without looking for a key. */
  readonly isPublic: boolean;
  /** `@OptionalApiKey()`: no key at all is "not mine", a key that is sent is still checked. `undefined`: the module's default. */
  readonly optional: boolean | undefined;
  /** `@Scopes()` / `@AnyScope()` of the controller and the handler, merged. */
  readonly requirement: ScopeRequirement;
  /** The RFC 6750 `scope` attribute for this route's 403s. */
  readonly scope: string;
  /** Credits a request spends from a key with credits (`@Cost`, default 1). */
  readonly cost: number;
}

const reflector = new Reflector();
const rules = new WeakMap<object, WeakMap<object, RouteRule>>();

/**
 * The rule of one route handler: the one derivation the guard and the OpenAPI
 * helper share (the handler's `@Public()` / `@OptionalApiKey()` over the
 * controller's; scope requirements of both apply). Read through Nest's
 * `Reflector`, once per handler.
 */
export function routeRuleOf(controller: Type | object, handler: object): RouteRule {
  let byHandler = rules.get(controller);
  if (!byHandler) rules.set(controller, (byHandler = new WeakMap()));
  let rule = byHandler.get(handler);
  if (!rule) {
    const targets = [handler as Type, controller as Type];
    const [forHandler, forController] = reflector.getAll<(ScopeRequirement | undefined)[]>(SCOPES_METADATA, targets);
    const requirement = mergeRequirements(forController, forHandler);
    rule = {
      isPublic: Boolean(reflector.getAllAndOverride<boolean | undefined>(PUBLIC_METADATA, targets)),
      optional: reflector.getAllAndOverride<boolean | undefined>(OPTIONAL_METADATA, targets),
      requirement,
      scope: describeRequirement(requirement),
      cost: routeCost(controller, handler),
    };
    byHandler.set(handler, rule);
  }
  return rule;
}
