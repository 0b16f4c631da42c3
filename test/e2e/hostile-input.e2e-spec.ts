import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import request from 'supertest';
import { generateApiKey, type IssuedApiKey } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Hostile and malformed input over real HTTP. Every case asserts its status,
 * and none may be a 500 or a pass. Malformed credentials must be refused with
 * zero SQL statements (counted by the test app's TypeORM logger).
 *
 * Whitespace tolerance (lib/credential-extractor.ts): the `Bearer` scheme is
 * case-insensitive (RFC 9110 11.1) and spaces/tabs around the token or the
 * `X-API-Key` value are ignored; nothing else is (no NBSP, no other scheme,
 * no key glued to the scheme). The token is then judged by the strict key
 * parser: ASCII base62 around `_`, at most 128 characters, valid checksum.
 */
describe('hostile input over HTTP', () => {
  let t: TestApp;
  let port: number;
  let valid: IssuedApiKey;
  const statuses: number[] = [];
  const http = () => request(t.app.getHttpServer());

  /** GET /orders (needs `orders:read`) with these headers, counting SQL statements. */
  async function get(
    headers: Record<string, string>,
    path = '/orders',
  ): Promise<{ res: request.Response; sql: string[] }> {
    let res!: request.Response;
    const sql = await t.queries.during(async () => {
      let req = http().get(path);
      for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
      res = await req;
    });
    statuses.push(res.status);
    return { res, sql };
  }

  /**
   * Sends raw bytes as one HTTP/1.1 request (for what supertest cannot send:
   * NULs, raw Latin-1/UTF-8 bytes, repeated headers) and reads the response
   * until the server closes the connection.
   */
  async function raw(
    headerLines: Buffer | string,
    path = '/orders',
  ): Promise<{ status: number; head: string; headers: Record<string, string>; body: string; sql: string[] }> {
    let text = '';
    const sql = await t.queries.during(
      () =>
        new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1');
          const chunks: Buffer[] = [];
          socket.on('data', (chunk) => chunks.push(chunk));
          // The server may close while a huge request is still being written.
          socket.on('error', () => undefined);
          socket.on('close', () => {
            text = Buffer.concat(chunks).toString('latin1');
            resolve();
          });
          const lines = Buffer.isBuffer(headerLines) ? headerLines : Buffer.from(headerLines, 'latin1');
          socket.end(
            Buffer.concat([
              Buffer.from(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n`),
              lines,
              Buffer.from('\r\n'),
            ]),
          );
        }),
    );
    const [head, body = ''] = text.split('\r\n\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
    // Header names lower-cased: Express and Fastify spell them differently.
    const headers = Object.fromEntries(
      head
        .split('\r\n')
        .slice(1)
        .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
    );
    statuses.push(status);
    return { status, head, headers, body, sql };
  }

  const INVALID_TOKEN = 'Bearer realm="api", error="invalid_token"';
  const BARE = 'Bearer realm="api"';

  function expectInvalidToken(res: request.Response, sql: string[], statements = 0): void {
    expect({ status: res.status, challenge: res.headers['www-authenticate'], sql: sql.length }).toEqual({
      status: 401,
      challenge: INVALID_TOKEN,
      sql: statements,
    });
    expect(res.body).toEqual({ statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' });
  }

  beforeAll(async () => {
    t = await createTestApp({ controllers: [OrdersController] });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    valid = await t.service.issue({ name: 'hostile', scopes: ['orders:read'] });
  });

  afterAll(async () => {
    await t?.close();
    // Nothing anywhere in this file may have produced a server error.
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    expect(t.logs.lines.filter((line) => line.startsWith('error'))).toEqual([]);
    expect(t.logs.lines.join('\n')).not.toContain(valid.key);
  });

  it('the valid key passes (baseline for every case below)', async () => {
    const { res, sql } = await get({ 'X-API-Key': valid.key });
    expect({ status: res.status, sql: sql.length }).toEqual({ status: 200, sql: 1 });
  });

  describe('oversized credentials', () => {
    it('refuses an 8 KB credential with 401 and no SQL, in either header', async () => {
      const big = `sk_${'A'.repeat(8 * 1024)}`;
      const cases: Record<string, string>[] = [
        { 'X-API-Key': big },
        { Authorization: `Bearer ${big}` },
        { 'X-API-Key': `${valid.key}${'A'.repeat(8 * 1024)}` },
      ];
      for (const headers of cases) {
        const { res, sql } = await get(headers);
        expectInvalidToken(res, sql);
      }
    });

    it('a 1 MB header never reaches the app: Node answers 431 itself and closes the connection', async () => {
      // `raw` reads until the server closes the connection, so getting here means it did.
      const { status, head, sql } = await raw(`X-API-Key: ${valid.key}${'A'.repeat(1024 * 1024)}\r\n`);
      // Node's default limit for all header lines together is 16 KB (--max-http-header-size).
      expect({ status, sql: sql.length }).toEqual({ status: 431, sql: 0 });
      expect(head).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    });

    it('a 15 KB run of spaces inside a credential is refused (and trimmed in linear time)', async () => {
      // Before the fix in credential-extractor.ts the trim regex was quadratic here (~125 ms
      // of blocked event loop per request); test/unit/credential-extractor.property.spec.ts times it.
      const cases: Record<string, string>[] = [
        { Authorization: `Bearer a${' '.repeat(15_000)}b` },
        { 'X-API-Key': `a${' '.repeat(15_000)}b` },
      ];
      for (const headers of cases) {
        const { res, sql } = await get(headers);
        expectInvalidToken(res, sql);
      }
    });
  });

  describe('bytes supertest cannot send (raw socket)', () => {
    it('NUL and other control bytes in a header are rejected by Node with 400 before the app', async () => {
      for (const lines of [
        `X-API-Key: ${valid.key}\0\r\n`,
        `Authorization: Bearer ${valid.key.slice(0, 10)}\0${valid.key.slice(10)}\r\n`,
        `X-API-Key: \x01\x7f\r\n`,
      ]) {
        const { status, sql } = await raw(lines);
        expect({ status, sql: sql.length }).toEqual({ status: 400, sql: 0 });
      }
    });

    it('non-ASCII bytes (Latin-1 and UTF-8) in a credential get 401 invalid_token and no SQL', async () => {
      const withAccent = valid.key.slice(0, 12) + 'é' + valid.key.slice(13);
      const cases = [
        Buffer.from(`X-API-Key: ${withAccent}\r\n`, 'latin1'),
        Buffer.from(`X-API-Key: ${withAccent}\r\n`, 'utf8'),
        Buffer.from(`Authorization: Bearer ${valid.key}\u{1f511}\r\n`, 'utf8'),
        Buffer.from(`X-API-Key: \xff\xfe${valid.key}\r\n`, 'latin1'),
      ];
      for (const lines of cases) {
        const { status, headers, sql } = await raw(lines);
        expect({ status, sql: sql.length, challenge: headers['www-authenticate'] }).toEqual({
          status: 401,
          sql: 0,
          challenge: INVALID_TOKEN,
        });
      }
    });

    it('a repeated X-API-Key header never authenticates, even with the same key twice', async () => {
      // Node joins repeated X-API-Key lines into "k1, k2" in req.headers; the guard reads
      // req.headersDistinct, where any repetition is a conflict: 400 invalid_request.
      const other = generateApiKey({ prefix: 'sk' });
      for (const lines of [
        `X-API-Key: ${valid.key}\r\nX-API-Key: ${other}\r\n`,
        `X-API-Key: ${valid.key}\r\nX-API-Key: ${valid.key}\r\n`,
      ]) {
        const { status, headers, sql } = await raw(lines);
        expect({ status, sql: sql.length }).toEqual({ status: 400, sql: 0 });
        expect(headers['www-authenticate']).toContain('error="invalid_request"');
      }
    });

    it('two different Authorization headers are a 400 conflict, as two different keys in two headers are', async () => {
      // Node keeps only the first Authorization line in req.headers; the guard reads
      // req.headersDistinct, so a second, different key is seen and refused.
      const other = generateApiKey({ prefix: 'sk' });
      for (const lines of [
        `Authorization: Bearer ${valid.key}\r\nAuthorization: Bearer ${other}\r\n`,
        `Authorization: Bearer ${other}\r\nAuthorization: Bearer ${valid.key}\r\n`,
      ]) {
        const { status, headers, sql } = await raw(lines);
        expect({ status, sql: sql.length }).toEqual({ status: 400, sql: 0 });
        expect(headers['www-authenticate']).toContain('error="invalid_request"');
      }
    });
  });

  describe('injection and misplaced keys', () => {
    it('SQL metacharacters are refused as malformed keys with no SQL at all, and the table is intact', async () => {
      const payloads = [
        "' OR 1=1 --",
        "sk_' OR '1'='1",
        `sk_${'A'.repeat(22)}'; DROP TABLE api_keys; --`,
        '" OR ""="',
        'sk_%',
        'sk_*',
        "sk_\\'",
        `${valid.key}' --`,
        `${valid.key.slice(0, -6)}' OR hash LIKE '%`,
      ];
      for (const payload of payloads) {
        for (const headers of [{ 'X-API-Key': payload }, { Authorization: `Bearer ${payload}` }] as Record<
          string,
          string
        >[]) {
          const { res, sql } = await get(headers);
          expectInvalidToken(res, sql);
        }
      }
      const { res } = await get({ 'X-API-Key': valid.key });
      expect(res.status).toBe(200);
    });

    it('a key in the query string, a cookie or the body is never accepted (bare 401, no SQL)', async () => {
      const q = encodeURIComponent(valid.key);
      for (const path of [
        `/orders?api_key=${q}`,
        `/orders?access_token=${q}&x-api-key=${q}`,
        `/orders?authorization=Bearer%20${q}`,
      ]) {
        const { res, sql } = await get({}, path);
        expect({ status: res.status, challenge: res.headers['www-authenticate'], sql: sql.length }).toEqual({
          status: 401,
          challenge: BARE,
          sql: 0,
        });
      }
      const { res: cookie, sql: cookieSql } = await get({ Cookie: `api_key=${valid.key}; x-api-key=${valid.key}` });
      expect({ status: cookie.status, sql: cookieSql.length }).toEqual({ status: 401, sql: 0 });
      let posted!: request.Response;
      const postSql = await t.queries.during(async () => {
        posted = await http().post('/orders').send({ api_key: valid.key, access_token: valid.key });
      });
      statuses.push(posted.status);
      expect({ status: posted.status, sql: postSql.length }).toEqual({ status: 401, sql: 0 });
    });

    it('a key with a valid checksum that was never issued: 401, after exactly one lookup', async () => {
      const { res, sql } = await get({ 'X-API-Key': generateApiKey({ prefix: 'sk' }) });
      expectInvalidToken(res, sql, 1);
      const { res: short, sql: shortSql } = await get({
        'X-API-Key': generateApiKey({ prefix: 'sk', entropyBits: 128 }),
      });
      expectInvalidToken(short, shortSql, 1);
    });

    it('a key of another prefix, even with a valid checksum, is refused unread', async () => {
      for (const prefix of ['pk', 'SK', 'sk_live', 'skx', 'ssk']) {
        const { res, sql } = await get({ Authorization: `Bearer ${generateApiKey({ prefix })}` });
        expectInvalidToken(res, sql);
      }
      // The valid body under another prefix: the checksum covers the prefix too.
      const { res, sql } = await get({ 'X-API-Key': `pk${valid.key.slice(2)}` });
      expectInvalidToken(res, sql);
    });

    it('case changes of a valid key are refused unread', async () => {
      for (const variant of [valid.key.toUpperCase(), valid.key.toLowerCase(), `SK${valid.key.slice(2)}`]) {
        const { res, sql } = await get({ 'X-API-Key': variant });
        expectInvalidToken(res, sql);
      }
    });
  });

  describe('conflicting headers', () => {
    it('two different credentials across the headers are a 400 invalid_request, with no SQL', async () => {
      const other = generateApiKey({ prefix: 'sk' });
      const cases = [
        { Authorization: `Bearer ${valid.key}`, 'X-API-Key': other },
        { Authorization: `Bearer ${other}`, 'X-API-Key': valid.key },
        { Authorization: `Bearer ${valid.key}`, 'X-API-Key': 'garbage' },
        { Authorization: 'Bearer', 'X-API-Key': valid.key },
      ];
      for (const headers of cases) {
        const { res, sql } = await get(headers);
        expect({ status: res.status, challenge: res.headers['www-authenticate'], sql: sql.length }).toEqual({
          status: 400,
          challenge: 'Bearer realm="api", error="invalid_request"',
          sql: 0,
        });
      }
    });

    it('the same key in both headers, with different whitespace, is one key', async () => {
      const { res, sql } = await get({ Authorization: `bearer \t${valid.key}`, 'X-API-Key': ` ${valid.key}\t` });
      expect({ status: res.status, sql: sql.length }).toEqual({ status: 200, sql: 1 });
    });

    it('another scheme in Authorization is no credential; X-API-Key still counts', async () => {
      const { res, sql } = await get({ Authorization: 'Basic dXNlcjpwYXNz' });
      expect({ status: res.status, challenge: res.headers['www-authenticate'], sql: sql.length }).toEqual({
        status: 401,
        challenge: BARE,
        sql: 0,
      });
      const both = await get({ Authorization: 'Basic dXNlcjpwYXNz', 'X-API-Key': valid.key });
      expect(both.res.status).toBe(200);
    });
  });

  describe('scheme case and whitespace (the documented tolerance)', () => {
    it('accepts the Bearer scheme in any case, and spaces or tabs around the token', async () => {
      const accepted = [
        `bearer ${valid.key}`,
        `BEARER ${valid.key}`,
        `BeArEr ${valid.key}`,
        `Bearer\t${valid.key}`,
        `Bearer    ${valid.key}`,
        `Bearer \t \t${valid.key}\t `,
      ];
      for (const value of accepted) {
        const { res, sql } = await get({ Authorization: value });
        expect({ value, status: res.status, sql: sql.length }).toEqual({ value, status: 200, sql: 1 });
      }
      const { res } = await get({ 'X-API-Key': `\t  ${valid.key} \t` });
      expect(res.status).toBe(200);
    });

    it('refuses everything else: glued scheme, NBSP, extra tokens, quoted or comma-joined keys', async () => {
      // No recognisable Bearer credential at all: bare challenge.
      for (const value of [`Bearer${valid.key}`, `Bearer\u00a0${valid.key}`, `Token ${valid.key}`, valid.key]) {
        const { res, sql } = await get({ Authorization: value });
        expect({ value, status: res.status, challenge: res.headers['www-authenticate'], sql: sql.length }).toEqual({
          value,
          status: 401,
          challenge: BARE,
          sql: 0,
        });
      }
      // A Bearer credential that is not exactly a key: invalid_token.
      for (const value of [
        `Bearer ${valid.key} extra`,
        `Bearer "${valid.key}"`,
        `Bearer ${valid.key},`,
        `Bearer ${valid.key}, Bearer ${valid.key}`,
        `Bearer Bearer ${valid.key}`,
        `Bearer ${valid.key}\u00a0`,
      ]) {
        const { res, sql } = await get({ Authorization: value });
        expect({ value, status: res.status, sql: sql.length }).toEqual({ value, status: 401, sql: 0 });
        expect(res.headers['www-authenticate']).toBe(INVALID_TOKEN);
      }
      const { res, sql } = await get({ 'X-API-Key': `Bearer ${valid.key}` });
      expectInvalidToken(res, sql);
    });
  });

  it('fuzz: 300 random header values (seed 42) are never a 500 nor a pass, and cost no SQL', async () => {
    // What Node's HTTP client will put on the wire: tab, printable ASCII, Latin-1.
    const wireChar = fc.oneof(
      fc.constantFrom('\t', ' ', '_', "'", '"', ',', ';', '\\', '%', '\u00a0', '\u00e9', '\u00ff'),
      fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }).filter((c) => /[\x20-\x7e]/.test(c)),
    );
    // Junk spliced into the valid key: at least one character that is not space or tab.
    const junk = fc.string({ unit: wireChar, minLength: 1, maxLength: 8 }).filter((j) => /[^ \t]/.test(j));
    const value = fc.oneof(
      fc.string({ unit: wireChar, maxLength: 200 }),
      junk.map((j) => valid.key.slice(0, 20) + j + valid.key.slice(20)),
      junk.map((j) => `Bearer ${j}${valid.key}`),
    );
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.option(value, { nil: undefined }),
        fc.option(value, { nil: undefined }),
        async (authorization, apiKey) => {
          const headers: Record<string, string> = {};
          if (authorization !== undefined) headers.Authorization = authorization;
          if (apiKey !== undefined) headers['X-API-Key'] = apiKey;
          const { res, sql } = await get(headers);
          seen.add(res.status);
          expect({ headers, status: [400, 401].includes(res.status), sql: sql.length }).toEqual({
            headers,
            status: true,
            sql: 0,
          });
        },
      ),
      { numRuns: 300, seed: 42 },
    );
    expect([...seen].sort()).toEqual([400, 401]);
  });
});
