import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, request as httpRequest } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { ApiKeyEntity, ApiKeyStoreUnavailableError, type IssuedApiKey } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { serverUrl, testDatabase, workerSchema } from '../support/database.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * PostgreSQL fault injection, without touching the shared server's uptime:
 *
 * - a TCP proxy between the app and PostgreSQL cuts every connection and
 *   refuses new ones (a network outage / a server that went away);
 * - the app logs in as a dedicated role, so the server itself can refuse it:
 *   `ALTER ROLE ... NOLOGIN` plus `pg_terminate_backend` of its backends
 *   (genuine PostgreSQL FATAL errors, affecting no other client);
 * - triggers that raise, or sleep while the connection is cut, in the middle
 *   of a lifecycle operation's transaction.
 *
 * Run with `npm run test:faults` (DB_TYPE=postgres, only *.pg-spec.ts). It fails,
 * and never skips, when it is not on PostgreSQL or PostgreSQL is unreachable.
 */

/** A TCP proxy that can drop every connection and refuse new ones, then come back on the same port. */
class FaultProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  /** Client connections accepted so far. */
  connections = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  /** Listens (again) and forwards every connection to PostgreSQL. */
  async up(): Promise<void> {
    const server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.targetPort, this.host);
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** The outage: resets every open connection and stops listening (new connections: ECONNREFUSED). */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Outcome counts of a run of requests. */
type Tally = Record<number, number>;

function tally(statuses: number[]): Tally {
  const counts: Tally = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe('PostgreSQL faults (npm run test:faults)', () => {
  let t: TestApp;
  let admin: DataSource;
  let proxy: FaultProxy;
  let role: string;
  let schema: string;
  let schemaOwner: string;
  let table: string;
  let key: IssuedApiKey;
  let port: number;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  // test/support/database.ts takes the server URL the global setup resolved from this
  // variable (DB_URL before that): both point at the proxy while this file runs.
  const URL_VARIABLES = ['APIKEYS_TEST_DB_URL', 'DB_URL'];
  const savedUrls = Object.fromEntries(URL_VARIABLES.map((name) => [name, process.env[name]]));

  /** GET /orders with this key over a real socket; resolves with the status and Retry-After. */
  function get(apiKey: string, path = '/orders'): Promise<{ status: number; retryAfter?: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, agent, headers: { 'x-api-key': apiKey } }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** `count` requests, `concurrency` at a time. */
  async function burst(
    count: number,
    concurrency = 8,
    apiKey = key.key,
  ): Promise<{ status: number; retryAfter?: string }[]> {
    const results: { status: number; retryAfter?: string }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next++;
          results.push(await get(apiKey));
        }
      }),
    );
    return results;
  }

  /** Sends requests until one passes; returns how many did not. Fails after `timeoutMs`. */
  async function untilRecovered(timeoutMs = 15_000): Promise<Tally> {
    const before: number[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status } = await get(key.key);
      if (status === 200) return tally(before);
      before.push(status);
      if (Date.now() > deadline)
        throw new Error(`no recovery within ${timeoutMs} ms: ${JSON.stringify(tally(before))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function sql<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]> {
    return admin.query(text, values);
  }

  /** A double-quoted SQL identifier. */
  const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

  async function keyRow(id: string): Promise<Record<string, unknown> | undefined> {
    return (await sql(`SELECT * FROM ${table} WHERE id = $1`, [id]))[0];
  }

  /** Installs a trigger that fails (or sleeps) on INSERT or UPDATE of the key table. */
  async function inject(event: 'INSERT' | 'UPDATE', body: string): Promise<void> {
    await sql(
      `CREATE OR REPLACE FUNCTION ${schema}.inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${body} END $$`,
    );
    await sql(
      `CREATE TRIGGER inject_fault BEFORE ${event} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${schema}.inject_fault()`,
    );
  }

  async function clearFault(): Promise<void> {
    await sql(`DROP TRIGGER IF EXISTS inject_fault ON ${table}`);
  }

  beforeAll(async () => {
    if (testDatabase() !== 'postgres') {
      throw new Error(
        `the PostgreSQL fault suite needs DB_TYPE=postgres (got ${testDatabase()}): run it with npm run test:faults`,
      );
    }
    // Straight to the server, for fault injection. Unreachable = this suite fails.
    const upstream = new URL(serverUrl());
    admin = new DataSource({ type: 'postgres', url: upstream.toString(), connectTimeoutMS: 5000, extra: { max: 2 } });
    await admin.initialize();

    // The app's own role, owner of this worker's schema, so the server can lock it (and only it) out.
    schema = ident(workerSchema());
    role = `apikeys_fault_${process.pid}`;
    [{ owner: schemaOwner }] = await sql<{ owner: string }>(
      `SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = $1`,
      [workerSchema()],
    );
    await sql(`DROP ROLE IF EXISTS ${role}`);
    await sql(`CREATE ROLE ${role} LOGIN`);
    await sql(`ALTER SCHEMA ${schema} OWNER TO ${role}`);

    proxy = new FaultProxy(upstream.hostname, Number(upstream.port || 5432));
    await proxy.up();
    const viaProxy = new URL(upstream);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    viaProxy.username = role;
    viaProxy.password = '';
    for (const name of URL_VARIABLES) process.env[name] = viaProxy.toString();
    t = await createTestApp({ controllers: [OrdersController], options: { retryAfterSeconds: 7 } });
    // Make sure the faults below reach the app: it must talk through the proxy, as the role.
    const [{ user }] = await t.dataSource.query(`SELECT current_user AS "user"`);
    if (t.dataSource.options.type !== 'postgres' || user !== role || proxy.connections === 0) {
      throw new Error(
        `the test app does not connect through the fault proxy as ${role} (user ${user}): has test/support/database.ts stopped reading APIKEYS_TEST_DB_URL?`,
      );
    }
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    table = `${schema}.${ident(t.dataSource.getMetadata(ApiKeyEntity).tableName)}`;
    key = await t.service.issue({ name: 'faults', scopes: ['orders:read'] });
  });

  afterAll(async () => {
    for (const [name, value] of Object.entries(savedUrls)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    agent.destroy();
    if (admin) {
      await sql(`ALTER ROLE ${role} LOGIN`).catch(() => undefined);
      if (table) await clearFault().catch(() => undefined);
    }
    if (proxy) await proxy.up().catch(() => undefined);
    await t?.close();
    if (proxy) await proxy.down();
    if (admin) {
      // Hand everything back and remove the role.
      await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
      if (schemaOwner) await sql(`ALTER SCHEMA ${schema} OWNER TO ${schemaOwner}`);
      await sql(`REASSIGN OWNED BY ${role} TO ${schemaOwner ?? 'CURRENT_USER'}`);
      await sql(`DROP OWNED BY ${role}`);
      await sql(`DROP ROLE IF EXISTS ${role}`);
      await admin.destroy();
    }
  });

  describe('the database becomes unreachable under a stream of requests', () => {
    it('network outage (connections reset, new ones refused): every request 503, then recovery without restart', async () => {
      const before = tally((await burst(50)).map((r) => r.status));
      expect(before).toEqual({ 200: 50 });

      await proxy.down();
      const during = await burst(300);
      const duringTally = tally(during.map((r) => r.status));
      // Malformed keys are still refused without the database; lifecycle calls fail typed.
      const malformed = await get('garbage');
      await expect(t.service.issue({ name: 'during outage' })).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);
      await expect(t.service.revoke(key.record.id)).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);

      await proxy.up();
      const beforeRecovery = await untilRecovered();
      const after = tally((await burst(100)).map((r) => r.status));

      console.log(
        `[pg-faults] network outage: before ${JSON.stringify(before)}, during ${JSON.stringify(duringTally)}, ` +
          `until recovery ${JSON.stringify(beforeRecovery)}, after ${JSON.stringify(after)}`,
      );
      expect(duringTally).toEqual({ 503: 300 });
      expect(during.every((r) => r.retryAfter === '7')).toBe(true);
      expect(malformed.status).toBe(401);
      expect(beforeRecovery).toEqual({});
      expect(after).toEqual({ 200: 100 });
      expect(t.logs.lines.some((line) => line.includes('key store unavailable'))).toBe(true);
    });

    it('server refusal (role locked out, its backends terminated): every request 503, then recovery without restart', async () => {
      expect(tally((await burst(20)).map((r) => r.status))).toEqual({ 200: 20 });

      await sql(`ALTER ROLE ${role} NOLOGIN`);
      const [{ terminated }] = await sql<{ terminated: string }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::text AS terminated FROM pg_stat_activity WHERE usename = $1`,
        [role],
      );
      const outageStarted = performance.now();
      const during = await burst(300);
      const duringTally = tally(during.map((r) => r.status));
      const outageMs = Math.round(performance.now() - outageStarted);

      await sql(`ALTER ROLE ${role} LOGIN`);
      const beforeRecovery = await untilRecovered();
      const after = tally((await burst(100)).map((r) => r.status));

      console.log(
        `[pg-faults] server refusal: ${terminated} backend(s) terminated, during (${outageMs} ms) ${JSON.stringify(duringTally)}, ` +
          `until recovery ${JSON.stringify(beforeRecovery)}, after ${JSON.stringify(after)}`,
      );
      expect(Number(terminated)).toBeGreaterThan(0);
      expect(duringTally).toEqual({ 503: 300 });
      expect(during.every((r) => r.retryAfter === '7')).toBe(true);
      expect(beforeRecovery).toEqual({});
      expect(after).toEqual({ 200: 100 });
      // The driver's reason reaches the log (never a key).
      expect(t.logs.lines.join('\n')).toMatch(/not permitted to log in|terminating connection/);
    });
  });

  describe('a database error inside a lifecycle operation leaves no half-written state', () => {
    it('rotate: the successor INSERT fails after the old key was claimed: all rolled back', async () => {
      const old = await t.service.issue({ name: 'rotate me', scopes: ['orders:read'] });
      const rowsBefore = Number((await sql<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0].n);
      await inject('INSERT', `RAISE EXCEPTION 'injected fault: insert refused';`);
      try {
        await expect(t.service.rotate(old.record.id)).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);
        await expect(t.service.rotate(old.record.id, { gracePeriodMs: 60_000 })).rejects.toBeInstanceOf(
          ApiKeyStoreUnavailableError,
        );
      } finally {
        await clearFault();
      }
      const row = await keyRow(old.record.id);
      expect(row).toMatchObject({ replacedById: null, revokedAt: null, revokedReason: null, expiresAt: null });
      expect(Number((await sql<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0].n)).toBe(rowsBefore);
      expect((await get(old.key)).status).toBe(200);
      // And it can still be rotated, exactly once.
      const rotated = await t.service.rotate(old.record.id);
      expect((await get(old.key)).status).toBe(401);
      expect((await get(rotated.key)).status).toBe(200);
    });

    it('rotate: the connection dies mid-transaction (after the claim, during the INSERT): all rolled back', async () => {
      const old = await t.service.issue({ name: 'cut me', scopes: ['orders:read'] });
      await inject('INSERT', `PERFORM pg_sleep(2);`);
      let rotation: Promise<unknown>;
      try {
        rotation = t.service.rotate(old.record.id, { gracePeriodMs: 60_000 });
        rotation.catch(() => undefined);
        // Wait until the app's transaction is inside the successor INSERT (the claim UPDATE is done).
        for (let i = 0; ; i++) {
          const busy = await sql(
            `SELECT pid FROM pg_stat_activity WHERE usename = $1 AND query LIKE 'INSERT%' AND state = 'active'`,
            [role],
          );
          if (busy.length > 0) break;
          if (i > 200) throw new Error('the rotation never reached its INSERT');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await proxy.down();
        await expect(rotation).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);
      } finally {
        await proxy.up();
        await clearFault();
      }
      // The server rolls the orphaned transaction back once it notices the client is gone.
      await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND state <> 'idle'`, [
        role,
      ]);
      const row = await keyRow(old.record.id);
      expect(row).toMatchObject({ replacedById: null, revokedAt: null, expiresAt: null });
      expect(await sql(`SELECT id FROM ${table} WHERE name = 'cut me' AND id <> $1`, [old.record.id])).toEqual([]);
      await untilRecovered();
      expect((await get(old.key)).status).toBe(200);
    });

    it('issue: a failed INSERT stores nothing', async () => {
      const rowsBefore = await sql(`SELECT id FROM ${table}`);
      await inject('INSERT', `RAISE EXCEPTION 'injected fault: insert refused';`);
      try {
        await expect(t.service.issue({ name: 'never stored', scopes: ['orders:read'] })).rejects.toBeInstanceOf(
          ApiKeyStoreUnavailableError,
        );
      } finally {
        await clearFault();
      }
      expect(await sql(`SELECT id FROM ${table}`)).toEqual(rowsBefore);
      expect(await sql(`SELECT id FROM ${table} WHERE name = 'never stored'`)).toEqual([]);
    });

    it('revoke and updateScopes: a failed UPDATE changes nothing, and the key keeps working', async () => {
      const target = await t.service.issue({ name: 'keep me', scopes: ['orders:read'] });
      await inject('UPDATE', `RAISE EXCEPTION 'injected fault: update refused';`);
      try {
        await expect(t.service.revoke(target.record.id, 'should not stick')).rejects.toBeInstanceOf(
          ApiKeyStoreUnavailableError,
        );
        await expect(t.service.updateScopes(target.record.id, [])).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);
      } finally {
        await clearFault();
      }
      expect(await keyRow(target.record.id)).toMatchObject({
        revokedAt: null,
        revokedReason: null,
        scopes: '["orders:read"]',
      });
      expect((await get(target.key)).status).toBe(200);
      await t.service.revoke(target.record.id);
      expect((await get(target.key)).status).toBe(401);
    });
  });
});
