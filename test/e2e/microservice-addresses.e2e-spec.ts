import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Transport } from '@nestjs/microservices';
import { ADDRESS_REFUSED, FORGED_ADDRESS, startRpcApp, type RpcTestApp } from '../support/rpc-app.js';

/**
 * IP allowlists over microservice transports: the address is the transport's
 * own (TCP: the socket's peer), never a payload field; a transport with no peer
 * address (NATS here; Redis in microservice-addresses.redis-spec.ts) refuses
 * keys with an allowlist, with a warning saying why.
 */
describe('RpcApiKeyGuard and IP allowlists over TCP (real TCP transport): the socket peer decides', () => {
  let t: RpcTestApp;

  beforeAll(async () => {
    t = await startRpcApp({ transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 } }, (port) => ({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    }));
  });
  afterAll(() => t?.close());

  it('refuses a key allowed elsewhere whatever address the payload claims (403 RpcException)', async () => {
    const { key } = await t.service.issue({ name: 'office', scopes: ['orders:read'], allowedIps: ['203.0.113.7'] });
    expect(await t.send({ apiKey: key })).toEqual(ADDRESS_REFUSED);
    expect(await t.send({ apiKey: key, ...FORGED_ADDRESS })).toEqual(ADDRESS_REFUSED);
  });

  it('admits a key allowed from the socket peer, whatever address the payload claims', async () => {
    const { key, record } = await t.service.issue({
      name: 'local',
      scopes: ['orders:read'],
      allowedIps: ['127.0.0.1', '::1'],
    });
    expect(await t.send({ apiKey: key })).toEqual({ answer: { id: record.id } });
    expect(await t.send({ apiKey: key, ip: '198.51.100.1' })).toEqual({ answer: { id: record.id } });
  });

  it('leaves keys without an allowlist as they were', async () => {
    const { key, record } = await t.service.issue({ name: 'plain', scopes: ['orders:read'] });
    expect(await t.send({ apiKey: key })).toEqual({ answer: { id: record.id } });
  });

  it('judges scopes and the rate limit per message from the stored row, whatever the payload claims', async () => {
    const unscoped = await t.service.issue({ name: 'other', scopes: ['other'] });
    expect(await t.send({ apiKey: unscoped.key, scopes: ['*'] })).toEqual({
      error: { statusCode: 403, message: 'Insufficient scope' },
    });
    const limited = await t.service.issue({
      name: 'limited',
      scopes: ['orders:read'],
      rateLimit: { limit: 1, windowMs: 60_000 },
    });
    expect(await t.send({ apiKey: limited.key })).toEqual({ answer: { id: limited.record.id } });
    expect(await t.send({ apiKey: limited.key, rateLimit: null, familyId: 'fresh' })).toEqual({
      error: { statusCode: 429, message: 'Too many requests for this API key' },
    });
  });
});

describe('RpcApiKeyGuard and IP allowlists over NATS (real NATS): no peer address, keys with an allowlist refused', () => {
  let t: RpcTestApp;
  const NATS = { servers: [process.env.NATS_URL ?? 'nats://127.0.0.1:4222'] };

  beforeAll(async () => {
    t = await startRpcApp({ transport: Transport.NATS, options: NATS }, () => ({
      transport: Transport.NATS,
      options: NATS,
    }));
  });
  afterAll(() => t?.close());

  it('refuses a key with an allowlist, whatever address the payload claims, and logs why once', async () => {
    const office = await t.service.issue({ name: 'office', scopes: ['orders:read'], allowedIps: ['203.0.113.7'] });
    const anywhere = await t.service.issue({ name: 'any', scopes: ['orders:read'], allowedIps: ['0.0.0.0/0', '::/0'] });
    expect(await t.send({ apiKey: office.key, ...FORGED_ADDRESS })).toEqual(ADDRESS_REFUSED);
    for (let i = 0; i < 3; i++) expect(await t.send({ apiKey: anywhere.key })).toEqual(ADDRESS_REFUSED);
    const why = (id: string) =>
      t.logs.lines.filter((line) =>
        line.includes(
          `refused API key ${id}: it has an IP allowlist, and the nats transport gives no peer address to check it against`,
        ),
      );
    expect(why(office.record.id)).toHaveLength(1);
    expect(why(anywhere.record.id)).toHaveLength(1); // three refusals, one line (aggregated per interval)
    expect(t.logs.lines.join('\n')).not.toContain('203.0.113.7');
  });

  it('leaves keys without an allowlist as they were', async () => {
    const { key, record } = await t.service.issue({ name: 'plain', scopes: ['orders:read'] });
    expect(await t.send({ apiKey: key, ...FORGED_ADDRESS })).toEqual({ answer: { id: record.id } });
  });
});
