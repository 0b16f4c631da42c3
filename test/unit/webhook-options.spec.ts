import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { ApiKeyConfigurationError } from 'nestjs-opaque-keys';
import {
  resolveWebhookOptions,
  retryDelay,
  withWebhooks,
  type ApiKeyWebhookOptions,
} from 'nestjs-opaque-keys/webhooks';

/** The checks of `withWebhooks()` options (run where the module is defined, before anything starts) and the backoff. */

const secret = 'whsec_' + randomBytes(32).toString('base64');
const boot = (webhooks: unknown) => ({ webhooks: resolveWebhookOptions(webhooks as ApiKeyWebhookOptions) });
const endpoint = (more: Record<string, unknown> = {}) => ({ url: 'https://hooks.example.com/keys', secret, ...more });

describe('webhook options', () => {
  it('resolve defaults', () => {
    const resolved = boot({ endpoints: [endpoint()] }).webhooks!;
    expect(resolved).toMatchObject({ maxAttempts: 10, timeoutMs: 10_000, retryDelayMs: 5000, retentionDays: 7 });
    expect(resolved.endpoints[0]).toMatchObject({ url: 'https://hooks.example.com/keys', events: null });
  });

  it('keep the signing secrets out of the options object, the feature, their JSON and their inspection', () => {
    const options = boot({ endpoints: [endpoint()] });
    expect(options.webhooks!.endpoints[0].secrets).toEqual([secret]);
    expect(JSON.stringify(options)).not.toContain(secret.slice(6));
    expect(inspect(options, { depth: 10 })).not.toContain(secret.slice(6));
    const feature = withWebhooks({ endpoints: [endpoint()] });
    expect(JSON.stringify(feature)).not.toContain(secret.slice(6));
    expect(inspect(feature, { depth: 10 })).not.toContain(secret.slice(6));
  });

  const e0 = 'webhooks.endpoints[0]';
  it.each(
    (
      [
        [{ endpoints: [] }, /at least one endpoint/, 'webhooks.endpoints'],
        [null, /at least one endpoint/, 'webhooks'],
        [
          { endpoints: [endpoint({ url: 'http://hooks.example.com/x' })] },
          /must be https:\/\/.*allowInsecureUrls: true/,
          `${e0}.url`,
        ],
        [{ endpoints: [endpoint({ url: 'ftp://hooks.example.com/x' })] }, /must be https:\/\//, `${e0}.url`],
        [{ endpoints: [endpoint({ url: 'hooks.example.com' })] }, /absolute URL such as https:/, `${e0}.url`],
        [
          { endpoints: [endpoint({ url: 'https://user:pw@hooks.example.com/' })] },
          /must not carry credentials/,
          `${e0}.url`,
        ],
        [
          { endpoints: [endpoint({ secret: 'not-a-secret' })] },
          /endpoints\[0\]\.secret .*'whsec_'.*randomBytes\(32\)/,
          `${e0}.secret`,
        ],
        [
          {
            endpoints: [
              endpoint(),
              endpoint({ url: 'https://b.example.com/', secret: 'whsec_' + randomBytes(8).toString('base64') }),
            ],
          },
          /24 to 64 random bytes/,
          'webhooks.endpoints[1].secret',
        ],
        [{ endpoints: [endpoint({ secret: [] })] }, /non-empty array/, `${e0}.secret`],
        [
          { endpoints: [endpoint({ events: ['revoked', 'deleted'] })] },
          /unknown type\(s\) "deleted"; known: issued/,
          `${e0}.events[1]`,
        ],
        [{ endpoints: [endpoint({ events: ['revoked_use'] })] }, /unknown type\(s\) "revoked_use"/, `${e0}.events[0]`],
        [{ endpoints: [endpoint({ events: [] })] }, /non-empty array of event types/, `${e0}.events`],
        [{ endpoints: [42] }, /must be \{ url, secret, events\? \}/, e0],
        [
          { endpoints: [endpoint(), endpoint()] },
          /lists https:\/\/hooks.example.com\/keys twice/,
          'webhooks.endpoints[1]',
        ],
        [
          { endpoints: [endpoint()], maxAttempts: 0 },
          /maxAttempts must be an integer from 1 to 100/,
          'webhooks.maxAttempts',
        ],
        [{ endpoints: [endpoint()], timeoutMs: 1.5 }, /timeoutMs must be an integer/, 'webhooks.timeoutMs'],
        [
          { endpoints: [endpoint()], retryDelayMs: 1000, maxRetryDelayMs: 10 },
          /maxRetryDelayMs must be an integer from 1000/,
          'webhooks.maxRetryDelayMs',
        ],
        [
          { endpoints: [endpoint()], allowInsecureUrls: 'yes' },
          /allowInsecureUrls must be a boolean/,
          'webhooks.allowInsecureUrls',
        ],
      ] as [unknown, RegExp, string][]
    ).map(([webhooks, message, option]) => [String(message), webhooks, message, option] as const),
  )('refuse bad options at boot, saying the fix and naming the option: %s', (_, webhooks, message, option) => {
    let error: unknown;
    try {
      boot(webhooks);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    expect(error).toMatchObject({ code: 'ERR_API_KEY_CONFIGURATION', option, message: expect.stringMatching(message) });
  });

  it('take https, localhost over http, several secrets, and http elsewhere only when allowed', () => {
    for (const url of ['http://localhost:3000/h', 'http://127.0.0.1/h', 'http://[::1]:8080/h'])
      expect(boot({ endpoints: [endpoint({ url })] }).webhooks!.endpoints[0].url).toBe(url);
    const two = 'whsec_' + randomBytes(24).toString('base64');
    expect(boot({ endpoints: [endpoint({ secret: [secret, two] })] }).webhooks!.endpoints[0].secrets).toEqual([
      secret,
      two,
    ]);
    const insecure = boot({ endpoints: [endpoint({ url: 'http://hooks.test/x' })], allowInsecureUrls: true });
    expect(insecure.webhooks!.endpoints[0].url).toBe('http://hooks.test/x');
    expect([...boot({ endpoints: [endpoint({ events: ['revoked'] })] }).webhooks!.endpoints[0].events!]).toEqual([
      'revoked',
    ]);
  });

  it('back off exponentially with jitter, capped', () => {
    const options = boot({ endpoints: [endpoint()], retryDelayMs: 1000, maxRetryDelayMs: 60_000 }).webhooks!;
    expect([1, 2, 3, 4].map((attempt) => retryDelay(options, attempt, 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelay(options, 3, 0)).toBe(2000); // half of it at the least
    expect(retryDelay(options, 30, 1)).toBe(60_000);
    const spread = new Set(Array.from({ length: 50 }, () => retryDelay(options, 5)));
    expect(spread.size).toBeGreaterThan(10);
    for (const delay of spread) expect(delay).toBeGreaterThanOrEqual(8000);
  });
});
