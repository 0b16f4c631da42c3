import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import {
  createGitHubSecretScanningController,
  GITHUB_SECRET_SCANNING_ACTOR,
} from '../../lib/features/secret-scanning/index.js';
import { OrdersController } from '../support/controllers.js';
import { httpPlatform } from '../support/http-platform.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const PATH = '/api-keys/github-secret-scanning';

/** An ECDSA P-256 key pair standing in for one of GitHub's signing keys. */
function signingKey(): { privateKey: KeyObject; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** GitHub's key list, served from a local HTTP server that counts its fetches and can fail on demand. */
class KeyListServer {
  keys: { key_identifier: string; key: string; is_current: boolean }[] = [];
  fetches = 0;
  failing = false;
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((_req, res) => {
      this.fetches++;
      if (this.failing) return void res.writeHead(500).end('down');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ public_keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/meta/public_keys/secret_scanning`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

describe('GitHub secret scanning receiver (signed alerts, as GitHub sends them)', () => {
  const keyList = new KeyListServer();
  const github = signingKey();
  let t: TestApp;

  function alert(
    body: string,
    {
      id = 'github-key-1',
      key = github.privateKey,
      signature,
      type = 'application/json',
    }: { id?: string; key?: KeyObject; signature?: string; type?: string } = {},
  ) {
    const signed = signature ?? sign('sha256', Buffer.from(body), { key, dsaEncoding: 'der' }).toString('base64');
    return request(t.app.getHttpServer())
      .post(PATH)
      .set('Content-Type', type)
      .set('GITHUB-PUBLIC-KEY-IDENTIFIER', id)
      .set('GITHUB-PUBLIC-KEY-SIGNATURE', signed)
      .send(body);
  }
  const matches = (...tokens: string[]) =>
    JSON.stringify(
      tokens.map((token) => ({
        token,
        type: 'acme_api_key',
        url: 'https://github.com/o/r/blob/x/f',
        source: 'content',
      })),
    );

  beforeAll(async () => {
    const url = await keyList.start();
    keyList.keys = [{ key_identifier: 'github-key-1', key: github.pem, is_current: true }];
    t = await createTestApp({
      controllers: [OrdersController, createGitHubSecretScanningController({ url, minRefreshIntervalMs: 0 })],
      rawBody: true,
    });
  });

  afterAll(async () => {
    await t?.close();
    await keyList.stop();
  });

  beforeEach(() => {
    keyList.failing = false;
  });

  it('revokes a leaked key on a good signature and answers in GitHub format; a replay is still a true positive', async () => {
    const leaked = await t.service.issue({ name: 'leaked', scopes: ['orders:read'] });
    await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', leaked.key).expect(200);
    const body = matches(leaked.key, 'sk_not_a_key_of_ours');
    const res = await alert(body).expect(200);
    expect(res.body).toEqual([
      { token_raw: leaked.key, token_type: 'acme_api_key', label: 'true_positive' },
      { token_raw: 'sk_not_a_key_of_ours', token_type: 'acme_api_key', label: 'false_positive' },
    ]);
    await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', leaked.key).expect(401);
    const events = await t.service.listEvents({ keyId: leaked.record.id });
    expect(events.items.filter((e) => e.type === 'revoked')).toEqual([
      expect.objectContaining({ actor: GITHUB_SECRET_SCANNING_ACTOR }),
    ]);
    // GitHub retries: the same alert again revokes nothing new and still says true_positive.
    expect((await alert(body).expect(200)).body[0].label).toBe('true_positive');
    expect(
      (await t.service.listEvents({ keyId: leaked.record.id })).items.filter((e) => e.type === 'revoked'),
    ).toHaveLength(1);
  });

  it('refuses a bad signature, a tampered body and a missing signature with one identical 401, revoking nothing', async () => {
    const victim = await t.service.issue({ name: 'victim', scopes: ['orders:read'] });
    const body = matches(victim.key);
    const other = signingKey();
    const refusals = [
      await alert(body, { key: other.privateKey }).expect(401),
      await alert(body.replace('acme_api_key', 'acme_api_kex'), {
        signature: sign('sha256', Buffer.from(body), { key: github.privateKey, dsaEncoding: 'der' }).toString('base64'),
      }).expect(401),
      await alert(body, { signature: 'bm90IGEgc2lnbmF0dXJl' }).expect(401),
      await request(t.app.getHttpServer()).post(PATH).set('Content-Type', 'application/json').send(body).expect(401),
    ];
    for (const res of refusals) expect(res.body).toEqual(refusals[0].body);
    expect(JSON.stringify(refusals[0].body)).not.toContain(victim.key);
    await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', victim.key).expect(200);
  });

  it('fetches the key list again for an unknown identifier (GitHub rotated its key), and refuses ids GitHub does not list', async () => {
    const rotated = signingKey();
    const leaked = await t.service.issue({ name: 'leaked after rotation', scopes: ['orders:read'] });
    keyList.keys = [
      { key_identifier: 'github-key-1', key: github.pem, is_current: false },
      { key_identifier: 'github-key-2', key: rotated.pem, is_current: true },
    ];
    const before = keyList.fetches;
    await alert(matches(leaked.key), { id: 'github-key-2', key: rotated.privateKey }).expect(200);
    expect(keyList.fetches).toBe(before + 1);
    await alert(matches(leaked.key), { id: 'made-up-id', key: rotated.privateKey }).expect(401);
  });

  it('fails closed with 503 when the key list cannot be fetched, and revokes nothing', async () => {
    const victim = await t.service.issue({ name: 'kept', scopes: ['orders:read'] });
    keyList.failing = true;
    await alert(matches(victim.key), { id: 'github-key-3' }).expect(503);
    await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', victim.key).expect(200);
  });

  it('answers 415 to a signed report that is not application/json, naming the type, with no error line and nothing revoked', async () => {
    const victim = await t.service.issue({ name: 'kept', scopes: ['orders:read'] });
    const body = matches(victim.key);
    const before = t.logs.lines.length;
    const unsupported = {
      statusCode: 415,
      message: 'Send the report as application/json',
      error: 'Unsupported Media Type',
    };
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
      const res = await alert(body, { type }).expect(415);
      // Fastify refuses a type it has no parser for (octet-stream) itself, before any route: its own 415.
      if (httpPlatform() === 'fastify' && type === 'application/octet-stream') continue;
      expect(res.body).toEqual(unsupported);
    }
    const bare = await request(t.app.getHttpServer()).post(PATH).set('GITHUB-PUBLIC-KEY-IDENTIFIER', 'github-key-1');
    expect(bare.status).toBe(415);
    expect(bare.body).toEqual(unsupported);
    expect(t.logs.lines.slice(before).filter((line) => !line.startsWith('debug '))).toEqual([]);
    await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', victim.key).expect(200);
    // application/json with parameters is JSON.
    expect((await alert(body, { type: 'application/json; charset=utf-8' }).expect(200)).body[0].label).toBe(
      'true_positive',
    );
  });

  it('answers 400 for a body that is not a list of matches, once the signature holds', async () => {
    await alert(JSON.stringify({ token: 'x' })).expect(400);
    await alert('not json').expect(400);
  });
});
