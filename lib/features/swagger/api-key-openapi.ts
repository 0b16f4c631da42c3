import type { INestApplicationContext } from '@nestjs/common';
import {
  ApiExtension,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiUnauthorizedResponse,
  type OpenAPIObject,
} from '@nestjs/swagger';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import type { ResolvedApiKeyOptions } from '../../api-key.options.js';
import type { ScopeRequirement } from '../../policies/scope-matcher.js';
import { findGuardedRoutes, type GuardedRoute } from './api-key-routes.js';

/** Options of {@link applyApiKeySecurity}. */
export interface ApiKeyOpenApiOptions {
  /** The security scheme for `Authorization: Bearer <key>`. Default `apiKeyBearer`. */
  bearerSchemeName?: string;
  /** The security scheme for the key header (`X-API-Key`). Default `apiKeyHeader`. */
  headerSchemeName?: string;
}

type SecuritySchemes = NonNullable<NonNullable<OpenAPIObject['components']>['securitySchemes']>;

/** Handlers already marked, so that building several documents never marks one twice. */
const marked = new WeakSet<object>();

function schemesOf(options: ResolvedApiKeyOptions, names: Required<ApiKeyOpenApiOptions>): SecuritySchemes {
  const format = `An API key such as \`${options.prefix}_<random base62><checksum>\`.`;
  const schemes: SecuritySchemes = {};
  if (options.bearer)
    schemes[names.bearerSchemeName] = {
      type: 'http',
      scheme: 'bearer',
      description: `${format} Sent as \`Authorization: Bearer <key>\`.`,
    };
  if (options.header)
    schemes[names.headerSchemeName] = {
      type: 'apiKey',
      in: 'header',
      name: options.header,
      description: `${format} Sent in the \`${options.header}\` header.`,
    };
  return schemes;
}

/** Human wording of a requirement for the 403 response. */
function describeScopes({ allOf, anyOf }: ScopeRequirement): string {
  const parts = [];
  if (allOf.length) parts.push(`all of ${allOf.join(', ')}`);
  for (const group of anyOf) parts.push(`one of ${group.join(', ')}`);
  return parts.join(' and ');
}

function mark(route: GuardedRoute, schemes: string[], optional: boolean): void {
  const { controller, methodName, handler, requirement } = route;
  const descriptor = { value: handler };
  const apply = (decorator: MethodDecorator) => decorator(controller.prototype, methodName, descriptor);
  // Either scheme authenticates (alternatives); the scopes are the route's all-of requirement.
  for (const scheme of schemes) apply(ApiSecurity(scheme, [...requirement.allOf]));
  // An optional key: a request without one passes this guard too (an empty requirement).
  if (optional) apply(ApiSecurity({}));
  apply(
    ApiUnauthorizedResponse({
      description: 'Missing, invalid, revoked or expired API key (`WWW-Authenticate: Bearer`).',
    }),
  );
  const scoped = requirement.allOf.length > 0 || requirement.anyOf.length > 0;
  if (scoped) {
    apply(ApiForbiddenResponse({ description: `The key lacks a required scope: ${describeScopes(requirement)}.` }));
    apply(
      ApiExtension('x-api-key-scopes', {
        allOf: [...requirement.allOf],
        anyOf: requirement.anyOf.map((group) => [...group]),
      }),
    );
  }
}

/**
 * Documents API-key security for `SwaggerModule.createDocument`, with no
 * decorator from the user: adds the `http bearer` and `apiKey` (header)
 * security schemes the module accepts to `config`, and marks every route
 * `ApiKeyGuard` protects (per controller, per handler or global; not
 * `@Public()`) with both schemes as alternatives, its required scopes, and its
 * 401/403 responses. Call it on an initialized app, before `createDocument`.
 * @example
 * const config = new DocumentBuilder().setTitle('Orders API').build();
 * const document = SwaggerModule.createDocument(app, applyApiKeySecurity(app, config));
 * SwaggerModule.setup('docs', app, document);
 */
export function applyApiKeySecurity<T extends Omit<OpenAPIObject, 'paths'>>(
  app: INestApplicationContext,
  config: T,
  options: ApiKeyOpenApiOptions = {},
): T {
  const names = { bearerSchemeName: 'apiKeyBearer', headerSchemeName: 'apiKeyHeader', ...options };
  const moduleOptions = app.get<ResolvedApiKeyOptions>(API_KEY_OPTIONS, { strict: false });
  const schemes = schemesOf(moduleOptions, names);
  for (const route of findGuardedRoutes(app)) {
    if (marked.has(route.handler)) continue;
    marked.add(route.handler);
    mark(route, Object.keys(schemes), route.optional ?? moduleOptions.optional);
  }
  return {
    ...config,
    components: { ...config.components, securitySchemes: { ...config.components?.securitySchemes, ...schemes } },
  };
}
