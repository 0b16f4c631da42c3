import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type CanActivate,
  type ExecutionContext,
  type HttpException,
} from '@nestjs/common';
import { API_KEY_OPTIONS, API_KEY_VERIFICATION_HOOKS } from '../api-key.constants.js';
import { ApiKeyStoreUnavailableError } from '../api-key.errors.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import {
  API_KEY_REQUEST_PROPERTY,
  type ApiKeyPrincipal,
  type ApiKeyVerification,
} from '../verification/api-key.principal.js';
import { API_KEY_VERIFIER, type KeyVerifier } from '../verification/key-verifier.js';
import {
  carriesPrefix,
  credentialHeaderNames,
  extractCredential,
  type ExtractedCredential,
  requestHeaderLines,
  unreadCredentialOf,
} from './credential.js';
import { admissionsOf, httpExchangeOf, requestAddress, requestOf, responseOf } from './request-context.js';
import * as refusals from './refusals.js';
import { LastUsedRecorder } from '../verification/write-behind.js';
import { isPromise, type MaybePromise } from '../storage/maybe-promise.js';
import { ApiKeyRateLimiter } from '../verification/rate-limiter.js';
import type { IpAllowlist } from '../policies/ip-allowlist.js';
import { matchScopes } from '../policies/scope-matcher.js';
import { bearerChallenge, type BearerErrorCode, RejectionLog } from './refusals.js';
import { routeRuleOf, type RouteRule } from './route-rule.js';
import { VerificationOutcomes, type ApiKeyVerificationHook } from '../verification/verification-hook.js';

/**
 * Authenticates requests by API key, live from the database on every request:
 *
 * 1. `@Public()` routes pass untouched.
 * 2. A request this key setup already admitted in the same HTTP exchange is not looked up again: only scopes are checked.
 * 3. The key is read from `Authorization: Bearer` or `X-API-Key` (two different keys = 400). No key: 401, or
 *    a pass without a principal on an optional route (`@OptionalApiKey()` or the module's `optional`).
 * 4. It is parsed and checksummed with no I/O, hashed, and looked up in one SQL statement.
 * 5. Revoked, expired, unknown, malformed and foreign-prefix keys all get the same 401.
 * 6. The route's `@Scopes()` / `@AnyScope()` requirement is matched (403 when unmet), then the key's IP
 *    allowlist, if it has one, against the address the transport gives (`clientAddress`; 403).
 * 7. The key's rate limit is counted, if one applies: 429 with `Retry-After` and `RateLimit-*` headers.
 * 8. A key with a use limit or credits spends the route's `@Cost` (one conditional UPDATE); others cause no write.
 * 9. The principal is attached to the request; `lastUsedAt` is noted for a batched write.
 *
 * If the database cannot answer, the request gets 503 with `Retry-After`, never a pass.
 * Rejections and store failures are logged aggregated (one line per key and reason per `logIntervalMs`).
 * When the store answers synchronously (better-sqlite3, a cache hit) and no
 * rate or use limit applies, the guard returns a plain boolean: no promise
 * is made on the request path, and Nest's guard consumer awaits nothing.
 * Bind it with `@UseGuards(ApiKeyGuard)`, or globally with the module's `globalGuard` option.
 * Works for GraphQL resolvers too (Apollo or Mercurius), with no GraphQL dependency.
 * Subclasses may override `getRequest`/`getResponse`, `readCredential`, `clientAddress` and `reject` for other
 * transports (see the `websockets` and `microservices` entry points).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger('ApiKeyGuard');
  private readonly headerNames: readonly string[];
  private readonly log: RejectionLog;
  /** Where each request's outcome is reported: the features' verification hooks (none without features). */
  private readonly outcomes: VerificationOutcomes;
  /** This key setup's verdicts by HTTP exchange (shared by every guard of the setup: bound globally and per route). */
  private readonly admissions: WeakMap<object, ApiKeyPrincipal>;

  constructor(
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    @Inject(API_KEY_VERIFIER) private readonly verifier: KeyVerifier,
    private readonly lastUsed: LastUsedRecorder,
    private readonly rateLimiter: ApiKeyRateLimiter,
    @Optional() @Inject(API_KEY_VERIFICATION_HOOKS) hooks?: readonly ApiKeyVerificationHook[],
  ) {
    this.outcomes = new VerificationOutcomes(hooks);
    this.admissions = admissionsOf(verifier);
    this.headerNames = credentialHeaderNames(options);
    this.log = new RejectionLog(this.logger, options.logIntervalMs);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // 1. Public routes skip everything.
    const rule = routeRuleOf(context.getClass(), context.getHandler());
    if (rule.isPublic) return true;

    // 2. This setup already admitted the request in this same HTTP exchange (bound both
    // globally and with @UseGuards): not looked up, counted or charged again; scopes are checked.
    const request = this.getRequest(context);
    const exchange = httpExchangeOf(context, request, this.getResponse(context));
    const verified = exchange && this.admissions.get(exchange);
    if (verified) return this.checkScopes(context, rule, verified);

    // 3. The credential.
    const credential = this.readCredential(context, request);
    this.outcomes.start(context);
    // A long-lived object (a socket, a message payload) carries no principal from an earlier operation.
    if (!exchange) delete request[API_KEY_REQUEST_PROPERTY];
    if (credential.kind === 'conflict') throw this.fail(context, refusals.conflictingKeys(), 'invalid_request');
    const optional = rule.optional ?? this.options.optional;
    if (credential.kind === 'none' || (optional && !this.presentsKey(credential.key))) {
      // On an optional route, a token without our prefix (a JWT in the same Bearer header) is not ours either,
      // unless it has a legacy format the setup accepts (an imported key: a wrong one gets the 401).
      // Not ours: the next guard or the handler decides (a principal left by an earlier operation on a
      // long-lived object is already gone; one set in this exchange by another setup's guard stays).
      if (optional) return true;
      this.noteUnread(request);
      throw this.fail(context, refusals.missingKey());
    }

    // 4. Parse, hash and look the key up: one SQL statement, none for malformed keys.
    // One clock read for the request: the expiry check and the write-behind note share it.
    const now = Date.now();
    let verification: MaybePromise<ApiKeyVerification>;
    try {
      verification = this.verifier.verify(credential.key, now);
    } catch (error) {
      throw this.storeFailure(context, error);
    }
    if (isPromise(verification)) {
      return verification.then(
        (verdict) => this.admit(context, rule, request, exchange, verdict, now),
        (error) => {
          throw this.storeFailure(context, error);
        },
      );
    }
    return this.admit(context, rule, request, exchange, verification, now);
  }

  /** Whether a presented value is of a format this setup judges: its prefix, or an accepted legacy format. */
  private presentsKey(key: string): boolean {
    return carriesPrefix(key, this.options.prefixes) || this.verifier.recognizes?.(key) === true;
  }

  /** Steps 5 to 9, once the row is read. Synchronous unless a rate or use limit applies. */
  private admit(
    context: ExecutionContext,
    rule: RouteRule,
    request: Record<string, any>,
    exchange: object | undefined,
    verification: ApiKeyVerification,
    now: number,
  ): boolean | Promise<boolean> {
    // 5. One answer for every invalid key; the reason goes to the log only (aggregated).
    if (!verification.valid) {
      const line = refusals.refusedKeyLine(verification);
      this.log.note(line.level, line.bucket, line.message);
      this.outcomes.refused(context, verification);
      throw this.fail(context, refusals.invalidKey(), 'invalid_token');
    }

    // 6. Scopes, live from the row just read.
    const principal = verification.principal;
    this.checkScopes(context, rule, principal);
    if (principal.allowedIps) this.checkAddress(context, request, principal, principal.allowedIps);

    // Keys without rate or use limits need no more I/O: done now.
    const cost = principal.remainingUses === null ? 0 : rule.cost;
    if (cost === 0 && !this.rateLimiter.applies(principal))
      return this.attach(request, exchange, principal, context, now);
    return this.admitLimited(context, request, exchange, principal, cost, now);
  }

  /** Steps 7 to 9 for a key with a rate or use limit. */
  private async admitLimited(
    context: ExecutionContext,
    request: Record<string, any>,
    exchange: object | undefined,
    principal: ApiKeyPrincipal,
    cost: number,
    now: number,
  ): Promise<boolean> {
    // 7. The rate limits, if any apply (per rotation family, and per owner with ownerRateLimit).
    const rate = await this.unavailableAs503(context, this.rateLimiter.hit(principal));
    if (rate) {
      for (const [name, value] of refusals.rateLimitHeaders(rate)) this.setHeader(context, name, value);
      if (!rate.allowed) {
        this.setHeader(context, 'Retry-After', String(Math.max(1, rate.resetSeconds)));
        this.outcomes.report(context, 'rate_limited', principal.id, undefined, principal.ownerId);
        throw this.reject(refusals.tooManyRequests('Too many requests for this API key'), context);
      }
    }

    // 8. A key with a use limit or credits spends the route's cost now (a conditional UPDATE); others write nothing.
    // Out of credits: 429 until a refill comes, or the 401 of an exhausted key when none will.
    if (cost > 0) {
      const used = await this.unavailableAs503(context, this.verifier.consumeUse(principal, cost));
      if (!used.valid) this.outcomes.report(context, 'out_of_credits', principal.id, undefined, principal.ownerId);
      if (!used.valid && used.retryAfterMs !== undefined) {
        this.setHeader(context, 'Retry-After', String(Math.max(1, Math.ceil(used.retryAfterMs / 1000))));
        throw this.reject(refusals.tooManyRequests('Out of credits'), context);
      }
      if (!used.valid) throw this.fail(context, refusals.invalidKey(), 'invalid_token');
    }

    return this.attach(request, exchange, principal, context, now);
  }

  /** 9. Attaches the principal; notes the use for the write-behind recorder. */
  private attach(
    request: Record<string, any>,
    exchange: object | undefined,
    principal: ApiKeyPrincipal,
    context: ExecutionContext,
    now: number,
  ): true {
    const address = this.outcomes.wantsAddress ? this.clientAddress(context, request) : undefined;
    this.outcomes.report(context, 'verified', principal.id, address, principal.ownerId);
    request[API_KEY_REQUEST_PROPERTY] = principal;
    if (exchange) this.admissions.set(exchange, principal);
    this.lastUsed.touch(principal.id, now);
    return true;
  }

  private checkScopes(context: ExecutionContext, rule: RouteRule, principal: ApiKeyPrincipal): true {
    if (!matchScopes(rule.requirement, principal.scopes)) {
      this.outcomes.report(context, 'forbidden', principal.id, undefined, principal.ownerId);
      throw this.fail(context, refusals.insufficientScope(), 'insufficient_scope', rule.scope);
    }
    return true;
  }

  /**
   * 6b. The key's IP allowlist against the address the transport gives
   * ({@link clientAddress}), never one the client writes; before any limit is
   * counted, so a refused address spends nothing. A transport with no peer
   * address refuses the key (fail closed) and says why in the log. The 403
   * does not tell the allowlist.
   */
  private checkAddress(
    context: ExecutionContext,
    request: Record<string, any>,
    { id: keyId, ownerId }: ApiKeyPrincipal,
    allowlist: IpAllowlist,
  ): void {
    const address = this.clientAddress(context, request);
    if (address !== undefined && allowlist.allows(address)) return;
    const line = refusals.refusedAddressLine(keyId, address === undefined ? this.transportName(context) : undefined);
    this.log.note(line.level, line.bucket, line.message);
    this.outcomes.report(context, 'forbidden', keyId, undefined, ownerId);
    throw this.reject(refusals.addressNotAllowed(), context);
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
    this.outcomes.report(context, 'unavailable', undefined);
    const line = refusals.storeFailureLine(error);
    this.log.note(line.level, line.bucket, line.message);
    this.setHeader(context, 'Retry-After', String(this.options.retryAfterSeconds));
    return this.reject(refusals.storeUnavailable(), context);
  }

  /** Debug line (aggregated) for a request whose key was sent where the guard never reads one. */
  private noteUnread(request: Record<string, any>): void {
    const unread = unreadCredentialOf(request, this.options.bearer);
    if (unread) this.log.note('debug', unread.bucket, unread.message);
  }

  /**
   * Reads the credential from the request's headers, every repeated line of them
   * (Node keeps only the first Authorization in `headers`): two different keys
   * there are a conflict too. From `rawHeaders` where there is one (Express,
   * Fastify's raw request), which reads just the two headers concerned.
   * Override for transports that carry the key elsewhere.
   */
  protected readCredential(_context: ExecutionContext, request: Record<string, any>): ExtractedCredential {
    return this.credentialFromHeaders(requestHeaderLines(request, this.headerNames));
  }

  /** The credential in a record of header lines (lower-case names), as this setup reads them (Bearer, its header). */
  protected credentialFromHeaders(headers: Record<string, string | string[] | undefined>): ExtractedCredential {
    return extractCredential(headers, this.options);
  }

  /** The lower-case names of the headers this setup reads a key from. */
  protected get credentialHeaders(): readonly string[] {
    return this.headerNames;
  }

  /**
   * The address a key's IP allowlist is checked against: the caller's address
   * as the transport itself gives it, never anything the client writes (a
   * payload, a header the adapter does not trust, GraphQL `connectionParams`);
   * `undefined` when the transport gives none, which refuses every key with an
   * allowlist. Called only for keys with one. HTTP and GraphQL: the adapter's
   * `req.ip` (Express `trust proxy`, Fastify `trustProxy` decide whether
   * `X-Forwarded-For` counts), or the socket's peer of a bare upgrade request
   * (graphql-ws). Transport guards override it.
   */
  protected clientAddress(_context: ExecutionContext, request: Record<string, any>): string | undefined {
    return requestAddress(request);
  }

  /** The transport's name in the log line of a key refused for want of a peer address (`http`, `ws`, `nats`...). */
  protected transportName(context: ExecutionContext): string {
    return context.getType();
  }

  /** The request object (HTTP, or the request in a GraphQL context); override for other transports. */
  protected getRequest(context: ExecutionContext): Record<string, any> {
    return requestOf(context);
  }

  /** The response object challenge headers are set on; override with `getRequest`. */
  protected getResponse(context: ExecutionContext): Record<string, any> | undefined {
    return responseOf(context);
  }

  /**
   * The error to throw for a refusal (401, 403, 400, 429, 503 as an `HttpException`).
   * Override to answer in another transport's form (`WsException`, `RpcException`).
   */
  protected reject(exception: HttpException, _context: ExecutionContext): unknown {
    return exception;
  }

  private fail(context: ExecutionContext, exception: HttpException, error?: BearerErrorCode, scope?: string): unknown {
    this.setHeader(context, 'WWW-Authenticate', bearerChallenge(this.options.realm, error, scope));
    return this.reject(exception, context);
  }

  private setHeader(context: ExecutionContext, name: string, value: string): void {
    refusals.setResponseHeader(this.getResponse(context), name, value);
  }
}
