import {
  BadRequestException,
  Controller,
  HttpCode,
  HttpException,
  Logger,
  Post,
  Req,
  ServiceUnavailableException,
  UnauthorizedException,
  UnsupportedMediaTypeException,
  type Type,
} from '@nestjs/common';
import { verify } from 'node:crypto';
import { Public } from '../../http/decorators/scopes.decorator.js';
import { ApiKeyService } from '../../lifecycle/api-key.service.js';
import {
  GitHubPublicKeys,
  GitHubPublicKeysUnavailableError,
  type GitHubPublicKeysOptions,
} from './github-public-keys.js';

/** The most matches one GitHub alert may carry. */
export const MAX_GITHUB_ALERT_MATCHES = 1000;
/** The audit actor of revocations GitHub reported. */
export const GITHUB_SECRET_SCANNING_ACTOR = 'github-secret-scanning';

/** Options of {@link createGitHubSecretScanningController}. */
export interface GitHubSecretScanningOptions extends GitHubPublicKeysOptions {
  /** Route path. Default `api-keys/github-secret-scanning`. */
  path?: string;
}

/** One result in GitHub's format: whether the reported string was a live key of ours. */
export interface GitHubSecretScanningResult {
  token_raw: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
}

interface Match {
  token: string;
  type: string;
}

function matchesOf(raw: Buffer): Match[] {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BadRequestException('the body must be a JSON array of { token, type, url, source }');
  }
  if (!Array.isArray(body) || body.length === 0 || body.length > MAX_GITHUB_ALERT_MATCHES) {
    throw new BadRequestException(`the body must be a JSON array of 1-${MAX_GITHUB_ALERT_MATCHES} matches`);
  }
  return body.map((entry: { token?: unknown; type?: unknown }, index) => {
    if (typeof entry?.token !== 'string' || entry.token.length === 0 || entry.token.length > 1024) {
      throw new BadRequestException(`match ${index} has no "token" string`);
    }
    return { token: entry.token, type: typeof entry.type === 'string' ? entry.type.slice(0, 255) : '' };
  });
}

/** Whether a `Content-Type` is JSON (`application/json`, parameters such as `charset` allowed), as GitHub sends reports. */
function isJson(contentType: unknown): boolean {
  if (typeof contentType !== 'string') return false;
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase() === 'application/json';
}

function header(request: { headers: Record<string, unknown> }, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 && value.length <= 1024 ? value : undefined;
}

/**
 * Builds the controller GitHub's secret scanning partner program calls when it
 * finds one of your keys in public code: `POST <path>` with a JSON list of
 * `{ token, type, url, source }`, signed with ECDSA P-256 / SHA-256 over the
 * raw body (`GITHUB-PUBLIC-KEY-IDENTIFIER`, `GITHUB-PUBLIC-KEY-SIGNATURE`).
 * It verifies the signature against GitHub's published keys (cached; fetched
 * again for an unknown identifier; 503 when they cannot be fetched), revokes
 * every live key found (`revokeByKey`, audit actor `github-secret-scanning`)
 * and answers GitHub's format: `[{ token_raw, token_type, label }]`, label
 * `true_positive` for a key of ours (revoked now or before), else `false_positive`.
 * The route is `@Public()`: GitHub sends no API key; the signature is its credential.
 * Reports must be `application/json`, as GitHub sends them: any other type is
 * a 415 (with a debug line at most), before the signature is read.
 * The app must keep raw bodies: `NestFactory.create(AppModule, { rawBody: true })`;
 * a JSON report without one is a 500 with an error line, naming that fix.
 * @example
 * @Module({ controllers: [createGitHubSecretScanningController()] })
 */
export function createGitHubSecretScanningController(options: GitHubSecretScanningOptions = {}): Type {
  const { path = 'api-keys/github-secret-scanning', ...keyOptions } = options;
  const publicKeys = new GitHubPublicKeys(keyOptions);
  const logger = new Logger('GitHubSecretScanning');

  @Controller(path)
  @Public()
  class GitHubSecretScanningController {
    constructor(private readonly keys: ApiKeyService) {}

    @Post()
    @HttpCode(200)
    async alert(
      @Req() request: { headers: Record<string, unknown>; rawBody?: Buffer },
    ): Promise<GitHubSecretScanningResult[]> {
      // GitHub sends JSON; anything else is not a report (and its raw body is not kept): 415, no error line.
      if (!isJson(request.headers['content-type'])) {
        logger.debug('refused a report that is not application/json (415)');
        throw new UnsupportedMediaTypeException('Send the report as application/json');
      }
      const raw = request.rawBody;
      if (!Buffer.isBuffer(raw)) {
        logger.error('no raw body: create the app with NestFactory.create(AppModule, { rawBody: true })');
        throw new HttpException('Raw body unavailable', 500);
      }
      await verifySignature(
        raw,
        header(request, 'github-public-key-identifier'),
        header(request, 'github-public-key-signature'),
      );
      const results: GitHubSecretScanningResult[] = [];
      for (const { token, type } of matchesOf(raw)) {
        const { status } = await this.keys.revokeByKey(token, 'reported by GitHub secret scanning', {
          actor: GITHUB_SECRET_SCANNING_ACTOR,
        });
        results.push({
          token_raw: token,
          token_type: type,
          label: status === 'unknown' ? 'false_positive' : 'true_positive',
        });
      }
      const found = results.filter((result) => result.label === 'true_positive').length;
      logger.log(`GitHub reported ${results.length} match(es), ${found} of them keys of this service`);
      return results;
    }
  }

  /** One identical 401 for a missing, unknown or wrong signature; 503 when GitHub's keys cannot be had. */
  async function verifySignature(raw: Buffer, identifier?: string, signature?: string): Promise<void> {
    const refused = new UnauthorizedException('Invalid signature');
    if (!identifier || !signature) throw refused;
    let key;
    try {
      key = await publicKeys.find(identifier);
    } catch (error) {
      if (!(error instanceof GitHubPublicKeysUnavailableError)) throw error;
      logger.error(`cannot verify a GitHub alert: ${(error.cause as Error)?.message ?? error.message}`);
      throw new ServiceUnavailableException('Cannot verify the signature right now');
    }
    let valid = false;
    try {
      valid =
        Boolean(key) && verify('sha256', raw, { key: key!, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) throw refused;
  }

  return GitHubSecretScanningController;
}
