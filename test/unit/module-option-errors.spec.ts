import { describe, expect, it } from '@jest/globals';
import { Injectable, type CanActivate } from '@nestjs/common';
import { ApiKeyConfigurationError, ApiKeyGuardFor, AnyScope, Cost, Scopes } from 'nestjs-opaque-keys';
import { ApiKeyAdminModule, type ApiKeyAdminOptions } from 'nestjs-opaque-keys/admin';
import { ResolvedRemoteOptions, type ApiKeyRemoteModuleOptions } from 'nestjs-opaque-keys/introspection';

/**
 * Bad options of the modules beside ApiKeyModule (the admin console, the remote verifier), of named setups and
 * of the decorators: each an ApiKeyConfigurationError with its message and, for an option, its path.
 */

/** What `fn` throws. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing was thrown');
}

/** The name, option path and message of what `fn` throws. */
function failure(fn: () => unknown) {
  const error = thrown(fn);
  return { error: error.name, option: (error as ApiKeyConfigurationError).option, message: error.message };
}

@Injectable()
class HostGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

describe('ApiKeyAdminModule.forRoot() options', () => {
  it.each<[ApiKeyAdminOptions, string, string]>([
    [{ path: 'admin' }, 'path', 'ApiKeyAdminModule: path must look like "/admin/keys"; got "admin"'],
    [{ path: '/admin/' }, 'path', 'ApiKeyAdminModule: path must look like "/admin/keys"; got "/admin/"'],
    [{ scope: 'keys:*' }, 'scope', 'ApiKeyAdminModule: scope must be a plain scope such as "keys:admin"'],
    [{ guard: HostGuard }, 'identify', 'ApiKeyAdminModule: with your own guard, pass identify(request)'],
    [
      { identify: () => ({ id: 'op', scopes: [] }) },
      'guard',
      'ApiKeyAdminModule: identify is for hosts that pass their own guard; pass guard as well',
    ],
  ])('refuses %j, naming the option', (options, option, message) => {
    const got = failure(() => ApiKeyAdminModule.forRoot(options));
    expect(got).toEqual({ error: 'ApiKeyConfigurationError', option, message: expect.stringContaining(message) });
  });

  it('takes good options', () => {
    expect(ApiKeyAdminModule.forRoot({ path: '/ops/keys', scope: 'ops:keys' }).module).toBe(ApiKeyAdminModule);
  });
});

describe('ApiKeyRemoteModule.forRoot() options (the introspection client)', () => {
  const base = { introspectionUrl: 'https://keys.internal/oauth/introspect', introspectionKey: 'sk_service' };
  it.each<[Partial<ApiKeyRemoteModuleOptions>, string, string]>([
    [{ introspectionUrl: '/relative' }, 'introspectionUrl', 'introspectionUrl must be an absolute http(s) URL'],
    [{ introspectionUrl: 'ftp://keys.internal/' }, 'introspectionUrl', 'introspectionUrl must be an http(s) URL'],
    [{ introspectionKey: '' }, 'introspectionKey', 'introspectionKey is required'],
    [{ cacheTtlMs: -1 }, 'cacheTtlMs', 'cacheTtlMs must be a non-negative number'],
    [{ timeoutMs: 0 }, 'timeoutMs', 'timeoutMs must be a positive number'],
  ])('refuses %j, naming the option', (options, option, message) => {
    const got = failure(() => new ResolvedRemoteOptions({ ...base, ...options }));
    expect(got).toEqual({ error: 'ApiKeyConfigurationError', option, message: expect.stringContaining(message) });
  });
});

describe('named setups and decorators', () => {
  it('refuses a bad setup name as the `name` option', () => {
    expect(failure(() => ApiKeyGuardFor('not a name'))).toEqual({
      error: 'ApiKeyConfigurationError',
      option: 'name',
      message: 'ApiKeyModule name must be a short identifier (letters, digits, - and _); got "not a name"',
    });
  });

  it('refuses bad decorator arguments as the class loads, with no option path', () => {
    for (const [decorate, message] of [
      [() => Scopes(), '@Scopes() needs at least one scope'],
      [() => AnyScope('orders:*'), '@AnyScope(): "orders:*" is not a valid required scope (wildcards are for grants)'],
      [() => Cost(-1), '@Cost(): -1 is not a whole number of credits from 0 to 2000000000'],
    ] as const) {
      expect(failure(decorate)).toEqual({ error: 'ApiKeyConfigurationError', option: undefined, message });
    }
  });
});
