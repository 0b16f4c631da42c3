import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { API_KEY_OPTIONS, PUBLIC_METADATA, SCOPES_METADATA } from '../api-key.constants.js';
import { ApiKeyStoreUnavailableError } from '../api-key.errors.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import {
  API_KEY_REQUEST_PROPERTY,
  type ApiKeyPrincipal,
  type ApiKeyVerification,
} from '../verification/api-key.principal.js';
import { ApiKeyVerifier } from '../verification/api-key.verifier.js';
import { credentialHeaderLines, credentialHeaderNames, extractCredential } from './credential-extractor.js';
import { requestOf, responseOf } from './execution-request.js';
import { LastUsedRecorder } from '../verification/last-used.recorder.js';
import { isPromise, type MaybePromise } from '../verification/maybe-promise.js';
import { ApiKeyRateLimiter } from '../verification/rate-limiter.js';
import { VerificationOutcomes } from '../verification/verification-outcomes.js';
import {
  describeRequirement,
  matchScopes,
  mergeRequirements,
  type ScopeRequirement,
} from '../policies/scope-matcher.js';
import { bearerChallenge, type BearerErrorCode } from './www-authenticate.js';

/**
 * Requests this guard verified, and their principals; private, so a
 * client-set property can never pass for one (and no property is added to
 * the request object for it).
 */
const verifiedRequests = new WeakMap<object, ApiKeyPrincipal>();

interface RouteRule {
  readonly isPublic: boolean;
  readonly requirement: ScopeRequirement;
  /** The RFC 6750 `scope` attribute for this route's 403s. */
  readonly scope: string;
}

/**
 * Authenticates requests by API key, live from the database on every request:
 *
 * 1. `@Public()` routes pass untouched.
 * 2. The key is read from `Authorization: Bearer` or `X-API-Key` (two different keys = 400).
 * 3. It is parsed and checksummed with no I/O, hashed, and looked up in one SQL statement.
 * 4. Revoked, expired, unknown and malformed keys all get the same 401.
 * 5. The route's `@Scopes()` / `@AnyScope()` requirement is matched (403 when unmet).
 * 6. The key's rate limit is counted, if one applies: 429 with `Retry-After` and `RateLimit-*` headers.
 * 7. A key with a use limit spends one use (a conditional UPDATE); others cause no write.
 * 8. The principal is attached to the request; `lastUsedAt` is noted for a batched write.
 *
 * If the database cannot answer, the request gets 503 with `Retry-After`, never a pass.
 * When the store answers synchronously (better-sqlite3, a cache hit) and no
 * rate or use limit applies, the guard returns a plain boolean: no promise
 * is made on the request path, and Nest's guard consumer awaits nothing.
 * Bind it with `@UseGuards(ApiKeyGuard)`, or globally with the module's `globalGuard` option.
 * Works for GraphQL resolvers too (Apollo or Mercurius), with no GraphQL dependency.
 * Subclasses may override `getRequest`/`getResponse` for other transports.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger('ApiKeyGuard');
  private readonly rules = new WeakMap<object, WeakMap<object, RouteRule>>();
  private readonly headerNames: readonly string[];

  constructor(
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    private readonly verifier: ApiKeyVerifier,
    private readonly lastUsed: LastUsedRecorder,
    private readonly rateLimiter: ApiKeyRateLimiter,
    private readonly outcomes: VerificationOutcomes,
  ) {
    this.headerNames = credentialHeaderNames(options);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // 1. Public routes skip everything.
    const rule = this.ruleFor(context);
    if (rule.isPublic) return true;

    // 2. A request this guard already let through (bound both globally and with
    // @UseGuards) is not looked up, counted or charged again: only scopes are checked.
    const request = this.getRequest(context);
    const verified = verifiedRequests.get(request);
    if (verified) return this.checkScopes(context, rule, verified);

    // 3. Extract the credential from the headers, every repeated line of them
    // (Node keeps only the first Authorization in `headers`): two different keys
    // there are a conflict too. From `rawHeaders` where there is one (Express,
    // Fastify's raw request), which reads just the two headers concerned.
    const rawHeaders = request.rawHeaders ?? request.raw?.rawHeaders;
    const headers = Array.isArray(rawHeaders)
      ? credentialHeaderLines(rawHeaders, this.headerNames)
      : (request.headersDistinct ?? request.headers ?? {});
    const credential = extractCredential(headers, this.options);
    this.outcomes.start(context);
    if (credential.kind === 'conflict') {
      throw this.fail(context, new BadRequestException('Send one API key, not two different ones'), 'invalid_request');
    }
    if (credential.kind === 'none') {
      throw this.fail(context, new UnauthorizedException('API key required'));
    }

    // 4. Parse, hash and look the key up: one SQL statement, none for malformed keys.
    let verification: MaybePromise<ApiKeyVerification>;
    try {
      verification = this.verifier.verify(credential.key);
    } catch (error) {
      throw this.storeFailure(context, error);
    }
    if (isPromise(verification)) {
      return verification.then(
        (verdict) => this.admit(context, rule, request, verdict),
        (error) => {
          throw this.storeFailure(context, error);
        },
      );
    }
    return this.admit(context, rule, request, verification);
  }

  /** Steps 5 to 9, once the row is read. Synchronous unless a rate or use limit applies. */
  private admit(
    context: ExecutionContext,
    rule: RouteRule,
    request: Record<string, any>,
    verification: ApiKeyVerification,
  ): boolean | Promise<boolean> {
    // 5. One answer for every invalid key; the reason goes to the log only.
    if (!verification.valid) {
      // Revoked/expired keys point at a real, known key: worth a warning. Unknown and
      // malformed ones are noise under a scan, so they stay at debug level.
      if (verification.keyId) this.logger.warn(`rejected API key ${verification.keyId}: ${verification.reason}`);
      else this.logger.debug(`rejected API key: ${verification.reason}`);
      this.outcomes.refused(context, verification);
      throw this.fail(context, new UnauthorizedException('Invalid API key'), 'invalid_token');
    }

    // 6. Scopes, live from the row just read.
    const principal = verification.principal;
    this.checkScopes(context, rule, principal);

    // Keys without rate or use limits need no more I/O: done now.
    if (principal.remainingUses === null && this.rateLimiter.limitFor(principal) === null)
      return this.attach(request, principal, context);
    return this.admitLimited(context, request, principal);
  }

  /** Steps 7 to 9 for a key with a rate or use limit. */
  private async admitLimited(
    context: ExecutionContext,
    request: Record<string, any>,
    principal: ApiKeyPrincipal,
  ): Promise<boolean> {
    // 7. The key's rate limit, if one applies (counted in @nestjs/throttler's storage, by key id).
    const rate = await this.unavailableAs503(context, this.rateLimiter.hit(principal));
    if (rate) {
      this.setHeader(context, 'RateLimit-Policy', `${rate.limit};w=${rate.windowSeconds}`);
      this.setHeader(context, 'RateLimit-Limit', String(rate.limit));
      this.setHeader(context, 'RateLimit-Remaining', String(rate.remaining));
      this.setHeader(context, 'RateLimit-Reset', String(rate.resetSeconds));
      if (!rate.allowed) {
        this.setHeader(context, 'Retry-After', String(Math.max(1, rate.resetSeconds)));
        this.outcomes.report(context, 'rate_limited', principal.id);
        throw new HttpException(
          { statusCode: 429, message: 'Too many requests for this API key', error: 'Too Many Requests' },
          429,
        );
      }
    }

    // 8. A key with a use limit spends one now (a conditional UPDATE); others write nothing.
    if (principal.remainingUses !== null) {
      const used = await this.unavailableAs503(context, this.verifier.consumeUse(principal));
      if (!used.valid) this.outcomes.report(context, 'out_of_credits', principal.id);
      if (!used.valid) throw this.fail(context, new UnauthorizedException('Invalid API key'), 'invalid_token');
    }

    return this.attach(request, principal, context);
  }

  /** 9. Attaches the principal; notes the use for the write-behind recorder. */
  private attach(request: Record<string, any>, principal: ApiKeyPrincipal, context: ExecutionContext): true {
    this.outcomes.report(context, 'verified', principal.id);
    request[API_KEY_REQUEST_PROPERTY] = principal;
    verifiedRequests.set(request, principal);
    this.lastUsed.touch(principal.id);
    return true;
  }

  private checkScopes(context: ExecutionContext, rule: RouteRule, principal: ApiKeyPrincipal): true {
    if (!matchScopes(rule.requirement, principal.scopes)) {
      this.outcomes.report(context, 'forbidden', principal.id);
      throw this.fail(context, new ForbiddenException('Insufficient scope'), 'insufficient_scope', rule.scope);
    }
    return true;
  }

  /** Awaits database work; a store failure becomes 503 with `Retry-After`, never a pass. */
  private async unavailableAs503<T>(context: ExecutionContext, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw this.storeFailure(context, error);
    }
  }

  /** What to throw for an error of database work: a store failure is a 503 with `Retry-After`; anything else as it is. */
  private storeFailure(context: ExecutionContext, error: unknown): unknown {
    if (!(error instanceof ApiKeyStoreUnavailableError)) return error;
    this.outcomes.unavailable(context);
    this.logger.error(`key store unavailable: ${(error.cause as Error)?.message ?? error.message}`);
    this.setHeader(context, 'Retry-After', String(this.options.retryAfterSeconds));
    return new ServiceUnavailableException('Authentication is temporarily unavailable');
  }

  /** The request object (HTTP, or the request in a GraphQL context); override for other transports. */
  protected getRequest(context: ExecutionContext): Record<string, any> {
    return requestOf(context);
  }

  /** The response object challenge headers are set on; override with `getRequest`. */
  protected getResponse(context: ExecutionContext): Record<string, any> | undefined {
    return responseOf(context);
  }

  private ruleFor(context: ExecutionContext): RouteRule {
    const controller = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.rules.get(controller);
    if (!byHandler) this.rules.set(controller, (byHandler = new WeakMap()));
    let rule = byHandler.get(handler);
    if (!rule) {
      const requirement = mergeRequirements(
        Reflect.getMetadata(SCOPES_METADATA, controller),
        Reflect.getMetadata(SCOPES_METADATA, handler),
      );
      rule = {
        isPublic: Boolean(
          Reflect.getMetadata(PUBLIC_METADATA, handler) ?? Reflect.getMetadata(PUBLIC_METADATA, controller),
        ),
        requirement,
        scope: describeRequirement(requirement),
      };
      byHandler.set(handler, rule);
    }
    return rule;
  }

  private fail(
    context: ExecutionContext,
    exception: HttpException,
    error?: BearerErrorCode,
    scope?: string,
  ): HttpException {
    this.setHeader(context, 'WWW-Authenticate', bearerChallenge(this.options.realm, error, scope));
    return exception;
  }

  private setHeader(context: ExecutionContext, name: string, value: string): void {
    const response = this.getResponse(context);
    if (typeof response?.header === 'function') response.header(name, value);
    else if (typeof response?.setHeader === 'function') response.setHeader(name, value);
  }
}
