import { HttpException, HttpStatus, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ApiKeyStoreUnavailableError } from '../../api-key.errors.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { credentialHeaderNames, extractCredential, requestHeaderLines } from '../../http/credential.js';
import { requestAddress } from '../../http/request-context.js';
import { API_KEY_REQUEST_PROPERTY, type ApiKeyPrincipal } from '../../verification/api-key.principal.js';
import { API_KEY_VERIFIER, type KeyVerifier } from '../../verification/key-verifier.js';
import { LastUsedRecorder } from '../../verification/write-behind.js';
import { ApiKeyRateLimiter } from '../../verification/rate-limiter.js';

/** The name the strategy registers with Passport: `AuthGuard('api-key')`. */
export const API_KEY_STRATEGY = 'api-key';

/**
 * A Passport strategy (on `passport-custom`) named `api-key`, so that
 * `AuthGuard(['jwt', 'api-key'])` takes a user's JWT or a service's API key
 * on one route. It reads the key as `ApiKeyGuard` does (`Authorization:
 * Bearer`, the module's header), live from the database, and:
 *
 * - no key, or a bad one (unknown, malformed, revoked, expired, exhausted, refused
 *   address): the strategy fails, so Passport tries the next one (its 401 is Passport's). The address is
 *   the adapter's `req.ip` (Express `trust proxy`, Fastify `trustProxy`), as for `ApiKeyGuard`; a request
 *   object the adapter did not make gives none, and a key with an allowlist fails there;
 * - the key store (or the rate-limit storage) down: 503, never a pass nor a fall-through;
 * - a key over its rate limit: 429; a key with a use limit spends one use;
 * - a good key: the principal goes on `request.apiKey` (`@CurrentApiKey()` works) and
 *   `request.user` is {@link toUser}'s answer (by default the principal).
 *
 * It checks the key only, not `@Scopes()`: to enforce scopes put
 * `ApiKeyGuard` first on an `@OptionalApiKey()` route. It checks key, scopes
 * and limits, and the strategy then takes the principal the guard attached,
 * with no second lookup.
 * @example
 * @Injectable()
 * export class ServiceKeyStrategy extends ApiKeyStrategy {
 *   protected override toUser(key: ApiKeyPrincipal) {
 *     return { id: key.ownerId, kind: 'service' };
 *   }
 * }
 * // providers: [ServiceKeyStrategy, JwtStrategy]; routes: @UseGuards(AuthGuard(['jwt', 'api-key']))
 */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, API_KEY_STRATEGY) {
  private readonly headerNames: readonly string[];

  constructor(
    @Inject(API_KEY_OPTIONS) private readonly keyOptions: ResolvedApiKeyOptions,
    @Inject(API_KEY_VERIFIER) private readonly verifier: KeyVerifier,
    private readonly lastUsed: LastUsedRecorder,
    private readonly rateLimiter: ApiKeyRateLimiter,
  ) {
    super();
    this.headerNames = credentialHeaderNames(keyOptions);
  }

  /** Passport's verify callback: the user, `false` for no or a bad key (Passport tries the next strategy). */
  async validate(request: Record<string, any>): Promise<unknown> {
    const admitted = request[API_KEY_REQUEST_PROPERTY] as ApiKeyPrincipal | undefined;
    if (admitted) return this.toUser(admitted, request); // ApiKeyGuard ran first and checked it all
    const credential = extractCredential(requestHeaderLines(request, this.headerNames), this.keyOptions);
    if (credential.kind !== 'key') return false;
    const verification = await this.storeWork(request, () => this.verifier.verify(credential.key));
    if (!verification.valid) return false;
    const principal = verification.principal;
    if (principal.allowedIps && !principal.allowedIps.allows(requestAddress(request))) return false;
    const rate = await this.storeWork(request, () => this.rateLimiter.hit(principal));
    if (rate && !rate.allowed)
      throw new HttpException('Too many requests for this API key', HttpStatus.TOO_MANY_REQUESTS);
    if (principal.remainingUses !== null) {
      const used = await this.storeWork(request, () => this.verifier.consumeUse(principal, 1));
      if (!used.valid) return false;
    }
    request[API_KEY_REQUEST_PROPERTY] = principal;
    this.lastUsed.touch(principal.id);
    return this.toUser(principal, request);
  }

  /**
   * What `request.user` becomes for a valid key; override it to map a key to
   * your user type (e.g. from `ownerId`). Default: the principal itself.
   * Returning `false` or `null` refuses the key (Passport tries the next strategy).
   */
  protected toUser(principal: ApiKeyPrincipal, _request: Record<string, any>): unknown {
    return principal;
  }

  /** Awaits store work; an outage becomes a 503 (with `Retry-After` where the response is reachable). */
  private async storeWork<T>(request: Record<string, any>, work: () => T | Promise<T>): Promise<T> {
    try {
      return await work(); // the store may throw synchronously (better-sqlite3)
    } catch (error) {
      if (!(error instanceof ApiKeyStoreUnavailableError)) throw error;
      request.res?.setHeader?.('Retry-After', String(this.keyOptions.retryAfterSeconds));
      throw new ServiceUnavailableException('Authentication is temporarily unavailable');
    }
  }
}
