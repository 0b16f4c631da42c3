import {
  Inject,
  Module,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type Type,
} from '@nestjs/common';
import { createAdminApiController } from './admin-api.controller.js';
import { createAdminPageController } from './admin-page.controller.js';
import { createAdminPoliciesController } from './admin-policies.controller.js';
import { AdminSecurityHeadersMiddleware } from './admin-security.headers.js';
import { ResolvedAdminOptions, type ApiKeyAdminOptions } from './admin.options.js';

/** The controllers one `forRoot()` mounted, for its middleware. */
const ADMIN_CONTROLLERS = Symbol('ApiKeyAdminControllers');

/**
 * A key-management console on the host's app: a JSON API under
 * `<path>/api` and a page at `<path>`, over Express and Fastify. By default
 * an operator signs in with an API key holding `keys:admin`, sent as
 * `Authorization: Bearer` (no cookie, so no CSRF surface); or the host passes
 * its own `guard` and `identify`. Every response carries a strict CSP,
 * `nosniff`, `no-referrer` and `no-store`. Needs `ApiKeyModule` (global, its default).
 * @example
 * @Module({
 *   imports: [
 *     TypeOrmModule.forRoot({ ... }),
 *     ApiKeyModule.forRoot({ prefix: 'sk' }),
 *     ApiKeyAdminModule.forRoot({ path: '/admin' }),
 *   ],
 * })
 * export class AppModule {}
 */
@Module({})
export class ApiKeyAdminModule implements NestModule {
  constructor(@Inject(ADMIN_CONTROLLERS) private readonly controllers: Type[]) {}

  /** Mounts the console. Bad options fail here, at boot, with the fix in the message. */
  static forRoot(options: ApiKeyAdminOptions = {}): DynamicModule {
    const resolved = new ResolvedAdminOptions(options);
    const controllers = [
      createAdminApiController(resolved),
      createAdminPoliciesController(resolved),
      createAdminPageController(resolved) as Type,
    ];
    return {
      module: ApiKeyAdminModule,
      controllers,
      providers: [{ provide: ADMIN_CONTROLLERS, useValue: controllers }],
    };
  }

  /** The security headers go on before any guard runs, so refusals carry them too. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AdminSecurityHeadersMiddleware).forRoutes(...this.controllers);
  }
}
