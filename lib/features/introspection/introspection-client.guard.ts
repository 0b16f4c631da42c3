import { Inject, Injectable, Optional, type ExecutionContext, type HttpException } from '@nestjs/common';
import { API_KEY_OPTIONS, API_KEY_VERIFICATION_HOOKS } from '../../api-key.constants.js';
import type { ApiKeyVerificationHook } from '../../verification/verification-hook.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { ApiKeyGuard } from '../../http/api-key.guard.js';
import { credentialHeaderLines, withCredential, type ExtractedCredential } from '../../http/credential.js';
import { LastUsedRecorder } from '../../verification/write-behind.js';
import { ApiKeyRateLimiter } from '../../verification/rate-limiter.js';
import { API_KEY_VERIFIER, type KeyVerifier } from '../../verification/key-verifier.js';
import { basicClientSecret, postedClientSecret } from './client-secret.js';

const CONFLICT: ExtractedCredential = Object.freeze({ kind: 'conflict' });

/**
 * `ApiKeyGuard` for the introspection endpoint only: besides `Authorization:
 * Bearer` and the module's header, the calling service's key may come as the
 * OAuth client secret (RFC 6749 section 2.3.1) of HTTP Basic
 * (`client_secret_basic`) or of a `client_secret` body field
 * (`client_secret_post`), as standard introspection clients send it. The
 * `client_id` is ignored. Two different keys across these are a 400; every
 * bad one the same 401, whose challenge names `Basic` as well as `Bearer`.
 * Everything else (scope check, limits, 503 on an outage) is the guard's.
 */
@Injectable()
export class IntrospectionClientGuard extends ApiKeyGuard {
  private readonly basicRealm: string;

  constructor(
    @Inject(API_KEY_OPTIONS) options: ResolvedApiKeyOptions,
    @Inject(API_KEY_VERIFIER) verifier: KeyVerifier,
    lastUsed: LastUsedRecorder,
    rateLimiter: ApiKeyRateLimiter,
    @Optional() @Inject(API_KEY_VERIFICATION_HOOKS) hooks?: readonly ApiKeyVerificationHook[],
  ) {
    super(options, verifier, lastUsed, rateLimiter, hooks);
    this.basicRealm = options.realm;
  }

  protected override readCredential(context: ExecutionContext, request: Record<string, any>): ExtractedCredential {
    const fromHeaders = super.readCredential(context, request);
    const rawHeaders = request.rawHeaders ?? request.raw?.rawHeaders;
    const lines: string[] = Array.isArray(rawHeaders)
      ? (credentialHeaderLines(rawHeaders, ['authorization']).authorization ?? [])
      : [request.headers?.authorization].flat().filter((line): line is string => typeof line === 'string');
    if (lines.length > 1) return CONFLICT;
    const basic = lines.length === 1 ? basicClientSecret(lines[0]) : undefined;
    const withBasic = basic?.kind === 'secret' ? withCredential(fromHeaders, basic.secret) : fromHeaders;
    return withCredential(withBasic, postedClientSecret(request.body));
  }

  protected override reject(exception: HttpException, context: ExecutionContext): unknown {
    if (exception.getStatus() === 401) {
      const response = this.getResponse(context);
      const bearer = response?.getHeader?.('WWW-Authenticate');
      const challenges = [`Basic realm="${this.basicRealm}"`, ...[bearer ?? []].flat()];
      if (typeof response?.header === 'function') response.header('WWW-Authenticate', challenges);
      else if (typeof response?.setHeader === 'function') response.setHeader('WWW-Authenticate', challenges);
    }
    return exception;
  }
}
