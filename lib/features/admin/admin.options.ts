import type { CanActivate, Type } from '@nestjs/common';
import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import { isValidScope } from '../../policies/scope-matcher.js';
import type { ApiKeyPrincipal } from '../../verification/api-key.principal.js';

/** Who is using the console: the audit-log actor and the scopes they may grant. */
export interface AdminIdentity {
  /** A stable id of the operator (the admin key's id by default). */
  readonly id: string;
  /** The scopes the operator holds; they may only grant these (wildcards such as `orders:*` allowed). */
  readonly scopes: readonly string[];
  /** The signed-in admin key (default sign-in), handed to the service as `actingAs`; absent with a host guard. */
  readonly principal?: ApiKeyPrincipal;
}

/** Options of `ApiKeyAdminModule.forRoot()`. Every field is optional. */
export interface ApiKeyAdminOptions {
  /** Where the page is served; its JSON API is under `<path>/api`. Default `/admin/keys`. */
  path?: string;
  /** The scope an admin API key must hold to sign in (default auth). Default `keys:admin`. */
  scope?: string;
  /**
   * The host's own guard (its session login) instead of admin API keys. The
   * routes are then `@Public()` for `ApiKeyGuard` and guarded by this class;
   * `identify` is required with it.
   */
  guard?: Type<CanActivate>;
  /** With `guard`: who the operator behind a request is (called after the guard passed). */
  identify?: (request: unknown) => AdminIdentity;
  /** The directory of the built page (`app.js`, `app.css`). Default: the assets shipped in the package. */
  assetsDir?: string;
}

/** Options after defaults are applied and values checked (at boot). */
export class ResolvedAdminOptions {
  readonly path: string = '/admin/keys';
  readonly scope: string = 'keys:admin';
  readonly guard: Type<CanActivate> | undefined = undefined;
  readonly identify: ((request: unknown) => AdminIdentity) | undefined = undefined;
  readonly assetsDir: string | undefined = undefined;

  /** @throws ApiKeyConfigurationError naming the bad option (`path`, `scope`, `guard`, `identify`) */
  constructor(options: ApiKeyAdminOptions = {}) {
    Object.assign(this, Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)));
    if (typeof this.path !== 'string' || !/^\/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~-]$/.test(this.path)) {
      throw new ApiKeyConfigurationError(
        `ApiKeyAdminModule: path must look like "/admin/keys"; got ${JSON.stringify(this.path)}`,
        'path',
      );
    }
    if (!isValidScope(this.scope) || this.scope.includes('*')) {
      throw new ApiKeyConfigurationError(
        `ApiKeyAdminModule: scope must be a plain scope such as "keys:admin"`,
        'scope',
      );
    }
    if (this.guard && typeof this.identify !== 'function') {
      throw new ApiKeyConfigurationError(
        'ApiKeyAdminModule: with your own guard, pass identify(request) => ({ id, scopes }) too: ' +
          'the console must know who acts (audit log) and which scopes they may grant',
        'identify',
      );
    }
    if (!this.guard && this.identify) {
      throw new ApiKeyConfigurationError(
        'ApiKeyAdminModule: identify is for hosts that pass their own guard; pass guard as well',
        'guard',
      );
    }
  }

  /** The JSON API's route path. */
  get apiPath(): string {
    return `${this.path}/api`;
  }
}
