import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Transport } from '@nestjs/microservices';
import { ADDRESS_REFUSED, FORGED_ADDRESS, startRpcApp, type RpcTestApp } from '../support/rpc-app.js';

const REDIS_URL = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const REDIS = { host: REDIS_URL.hostname, port: Number(REDIS_URL.port || 6379) };

/**
 * IP allowlists over the Redis transport (real Redis at REDIS_URL, `npm run
 * test:redis`): messages go through the broker, so the guard has no peer
 * address; a key with an allowlist is refused there, with a warning saying why.
 */
describe('RpcApiKeyGuard and IP allowlists over Redis (real Redis): no peer address, keys with an allowlist refused', () => {
  let t: RpcTestApp;

  beforeAll(async () => {
    t = await startRpcApp({ transport: Transport.REDIS, options: REDIS }, () => ({
      transport: Transport.REDIS,
      options: REDIS,
    }));
  });
  afterAll(() => t?.close());

  it('refuses a key with an allowlist, whatever address the payload claims, and logs why', async () => {
    const { key, record } = await t.service.issue({
      name: 'office',
      scopes: ['orders:read'],
      allowedIps: ['203.0.113.7'],
    });
    expect(await t.send({ apiKey: key, ...FORGED_ADDRESS })).toEqual(ADDRESS_REFUSED);
    expect(await t.send({ apiKey: key })).toEqual(ADDRESS_REFUSED);
    expect(
      t.logs.lines.filter((line) =>
        line.includes(
          `refused API key ${record.id}: it has an IP allowlist, and the redis transport gives no peer address to check it against`,
        ),
      ),
    ).toHaveLength(1);
  });

  it('leaves keys without an allowlist as they were', async () => {
    const { key, record } = await t.service.issue({ name: 'plain', scopes: ['orders:read'] });
    expect(await t.send({ apiKey: key, ...FORGED_ADDRESS })).toEqual({ answer: { id: record.id } });
  });

  it('judges scopes per message from the stored row, whatever the payload claims', async () => {
    const { key, record } = await t.service.issue({ name: 'reader', scopes: ['orders:read'] });
    expect(await t.send({ apiKey: key })).toEqual({ answer: { id: record.id } });
    await t.service.updateScopes(record.id, ['other']);
    expect(await t.send({ apiKey: key, scopes: ['*'] })).toEqual({
      error: { statusCode: 403, message: 'Insufficient scope' },
    });
  });
});
