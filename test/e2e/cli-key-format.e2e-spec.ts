import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { apiKeyMigrations, type ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import { DataSource } from 'typeorm';
import { API_KEY_POLICY } from '../../sample-app/config/api-keys.options.js';
import { buildCliCheckout } from '../support/docs/cli-checkout.js';
import { startSqliteKeyApp, type SqliteKeyApp } from '../support/sqlite-key-app.js';

/**
 * Issue 22: a key the operator CLI prints works in the app it was issued for,
 * or the CLI refuses with the fix. The app records its key format at boot; the
 * CLI (real processes, `dist/features/cli/main.js` compiled with swc) follows
 * it: prefix and environments, default and maximum lifetime, the keyed tag.
 * Each key it prints is sent to the app over HTTP. SQLite files shared by the
 * app and the CLI, whatever DB_TYPE says.
 */
// Every command is a fresh Node process that boots Nest (about 1.5 s on a shared core).
jest.setTimeout(120_000);

const DAY = 86_400_000;
const TAG_SECRET = 'the-app-keytag-secret-of-32-bytes-or-more-0123456789';

describe('the CLI issues keys the app accepts, or refuses with the fix', () => {
  const root = resolve('.');
  const dir = join(root, 'build', `cli-key-format-${process.pid}`);
  const main = join(dir, 'dist', 'features', 'cli', 'main.js');

  /** A migrated SQLite file with no key, and its data-source module. */
  async function database(name: string): Promise<{ file: string; module: string }> {
    const file = join(dir, `${name}.sqlite`);
    const module = join(dir, `${name}.mjs`);
    writeFileSync(
      module,
      `import { DataSource } from 'typeorm';\nexport default new DataSource({ type: 'better-sqlite3', database: ${JSON.stringify(file)} });\n`,
    );
    const setup = new DataSource({
      type: 'better-sqlite3',
      database: file,
      migrations: apiKeyMigrations('better-sqlite3'),
      migrationsRun: true,
    });
    await setup.initialize();
    await setup.destroy();
    return { file, module };
  }
  const run = (module: string, env: Record<string, string>, ...args: string[]) => {
    const result = spawnSync(process.execPath, [main, '-d', module, ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, API_KEY_PREFIX: '', API_KEY_TAG_SECRET: '', ...env },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  /** `--json issue`, expected to succeed: the key and its record. */
  const issued = (module: string, env: Record<string, string>, ...args: string[]) => {
    const result = run(module, env, '--json', 'issue', '--name', 'cli', '--scopes', 'orders:read', ...args);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    return JSON.parse(result.stdout) as { key: string; record: { id: string; expiresAt: string | null } };
  };
  const daysFromNow = (iso: string | null) => Math.round((Date.parse(iso!) - Date.now()) / DAY);

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await buildCliCheckout(root, dir);
  }, 180_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe("the sample app's format: prefix sk, environments live and test, 90 days by default, 365 at most", () => {
    let db: { file: string; module: string };
    let app: SqliteKeyApp | undefined;
    const policy: ApiKeyModuleOptions = { ...API_KEY_POLICY, environments: [...API_KEY_POLICY.environments] };

    beforeAll(async () => {
      db = await database('sample-format');
    });
    afterAll(async () => {
      await app?.close();
    });

    it('before the app has started on the database: issue refuses without --prefix, saying why; doctor warns', async () => {
      const refused = run(db.module, {}, 'issue', '--name', 'early', '--scopes', 'orders:read');
      expect(refused.status).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain('error: no key format is recorded in api_key_events');
      expect(refused.stderr).toContain("pass the app's whole key prefix: --prefix <prefix>");
      const doctor = run(db.module, {}, 'doctor');
      expect(doctor.status).toBe(7);
      expect(doctor.stdout).toContain('WARNING  no key format recorded in api_key_events: issue needs --prefix');
      // Then the app starts, on a table that is still empty.
      app = await startSqliteKeyApp(db.file, policy);
      expect((await app.service.list({})).total).toBe(0);
    });

    it('with no option: an sk_live_ key with the 90-day default, which the app admits as live', async () => {
      const { key, record } = issued(db.module, {});
      expect(key).toMatch(/^sk_live_/);
      expect(daysFromNow(record.expiresAt)).toBe(90);
      expect(await app!.call(key)).toEqual({ status: 200, body: { id: record.id, environment: 'live' } });
    });

    it('--prefix sk (the default that used to print a dead sk_ key) and --prefix sk_live: the same live key', async () => {
      for (const prefix of ['sk', 'sk_live']) {
        const { key } = issued(db.module, {}, '--prefix', prefix);
        expect({ prefix, key: key.slice(0, 8) }).toEqual({ prefix, key: 'sk_live_' });
        expect((await app!.call(key)).status).toBe(200);
      }
    });

    it('--environment test: an sk_test_ key the app admits as test (also as --prefix sk_test)', async () => {
      for (const args of [
        ['--environment', 'test'],
        ['--prefix', 'sk_test'],
      ]) {
        const { key, record } = issued(db.module, {}, ...args);
        expect(key).toMatch(/^sk_test_/);
        expect(await app!.call(key)).toEqual({ status: 200, body: { id: record.id, environment: 'test' } });
      }
    });

    it('a prefix or environment the app does not have: refused with the fix, nothing issued', async () => {
      const before = (await app!.service.list({})).total;
      const cases: [string[], string][] = [
        [
          ['--prefix', 'acme'],
          'error: --prefix acme is not this app\'s key format: it issues keys "sk_live_..." and "sk_test_...", and ' +
            'would reject a key "acme_..." as malformed. Drop --prefix (the CLI reads the app\'s format), and ' +
            'choose the environment with --environment live or --environment test.',
        ],
        [
          ['--environment', 'staging'],
          "error: --environment staging is not one of the app's environments (live, test): pass --environment live " +
            'or --environment test.',
        ],
        [
          ['--prefix', 'sk_live', '--environment', 'test'],
          'error: --prefix sk_live names the environment live, --environment another: drop --prefix.',
        ],
      ];
      for (const [args, message] of cases) {
        const refused = run(db.module, {}, 'issue', '--name', 'x', '--scopes', 'a', ...args);
        expect({ args, status: refused.status, stderr: refused.stderr, stdout: refused.stdout }).toEqual({
          args,
          status: 1,
          stderr: `${message}\n`,
          stdout: '',
        });
      }
      expect((await app!.service.list({})).total).toBe(before);
    });

    it("holds --expires-at to the app's maximum lifetime of 365 days", async () => {
      const at = (days: number) => new Date(Date.now() + days * DAY).toISOString();
      const tooLong = run(db.module, {}, 'issue', '--name', 'x', '--scopes', 'a', '--expires-at', at(400));
      expect(tooLong.status).toBe(4);
      expect(tooLong.stderr).toBe(
        "error: --expires-at: expiresAt is beyond the maximum lifetime of 31536000000 ms (the app's maximum key " +
          'lifetime is 365 days)\n',
      );
      const { key, record } = issued(db.module, {}, '--expires-at', at(300));
      expect(daysFromNow(record.expiresAt)).toBe(300);
      expect((await app!.call(key)).status).toBe(200);
    });

    it('doctor: the recorded format is ok; it warns on a --prefix the app does not use and on keys it rejects', async () => {
      const healthy = run(db.module, {}, 'doctor');
      expect({ status: healthy.status, stderr: healthy.stderr }).toEqual({ status: 0, stderr: '' });
      expect(healthy.stdout).toMatch(
        /ok {7}key format recorded by the app at \S+: keys "sk_live_\.\.\." and "sk_test_\.\.\.", prefix "sk", environments live, test, 256-bit bodies, default lifetime 90 days, maximum lifetime 365 days, no keyed tag/,
      );
      expect(healthy.stdout).toMatch(/ok {7}\d+ active key\(s\), all with the prefix "sk_live" or "sk_test"/);

      const wrongFlag = run(db.module, {}, '--prefix', 'acme', 'doctor');
      expect(wrongFlag.status).toBe(7);
      expect(wrongFlag.stdout).toContain("WARNING  issue refuses: --prefix acme is not this app's key format");

      // A plain sk_ key, as the CLI printed before it read the app's format: the app rejects it, doctor says so.
      const other = await startSqliteKeyApp(db.file, { prefix: 'sk', recordKeyFormat: false });
      const dead = await other.service.issue({ name: 'dead', scopes: ['orders:read'] }).finally(() => other.close());
      expect((await app!.call(dead.key)).status).toBe(401);
      const warned = run(db.module, {}, 'doctor');
      expect(warned.status).toBe(7);
      expect(warned.stdout).toContain(
        'WARNING  active keys the app rejects as malformed (it accepts "sk_live" or "sk_test"): 1 with "sk"',
      );
      expect(warned.stdout).toContain('fix: revoke them');
    });
  });

  describe('an app that tags its keys (keyTag, untagged keys refused)', () => {
    let db: { file: string; module: string };
    let app: SqliteKeyApp;

    beforeAll(async () => {
      db = await database('tagged');
      app = await startSqliteKeyApp(db.file, {
        prefix: 'acme',
        keyTag: { secrets: { '1': TAG_SECRET }, current: '1', acceptUntagged: false },
      });
    });
    afterAll(() => app.close());

    it('without the secret: issue and rotate refuse, naming API_KEY_TAG_SECRET', async () => {
      const refused = run(db.module, {}, 'issue', '--name', 'x', '--scopes', 'a');
      expect(refused.status).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toBe(
        'error: the app tags its keys (keyTag, version "1") and refuses keys without its tag; this CLI has no tag ' +
          'secret. Set API_KEY_TAG_SECRET to the app\'s keyTag secret of version "1" (in the environment, never on ' +
          'the command line) and run the command again.\n',
      );
      const { record } = await app.service.issue({ name: 'from the app' });
      const rotate = run(db.module, {}, 'rotate', record.id);
      expect(rotate.status).toBe(1);
      expect(rotate.stderr).toContain('Set API_KEY_TAG_SECRET');
      expect((await app.service.get(record.id)).replacedById).toBeNull();
      const doctor = run(db.module, {}, 'doctor');
      expect(doctor.status).toBe(0);
      expect(doctor.stdout).toContain('issue and rotate need API_KEY_TAG_SECRET (the app tags its keys)');
    });

    it('with a secret that is not the app’s: refused, as its check value differs', () => {
      const refused = run(
        db.module,
        { API_KEY_TAG_SECRET: TAG_SECRET.replace('the-', 'not-') },
        'issue',
        '--name',
        'x',
        '--scopes',
        'a',
      );
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(
        'error: API_KEY_TAG_SECRET is not the app\'s keyTag secret of version "1" (its check value differs',
      );
      const doctor = run(db.module, { API_KEY_TAG_SECRET: TAG_SECRET.replace('the-', 'not-') }, 'doctor');
      expect(doctor.status).toBe(7);
      expect(doctor.stdout).toContain("WARNING  issue and rotate refuse: API_KEY_TAG_SECRET is not the app's keyTag");
      const short = run(db.module, { API_KEY_TAG_SECRET: 'short' }, 'issue', '--name', 'x', '--scopes', 'a');
      expect(short.status).toBe(1);
      expect(short.stderr).toContain('API_KEY_TAG_SECRET: keyTag secret 1 must be at least 32 bytes');
    });

    it("with the app's secret: tagged keys the app admits, issued and rotated", async () => {
      const env = { API_KEY_TAG_SECRET: TAG_SECRET };
      const { key, record } = issued(db.module, env);
      expect(key).toMatch(/^acme_/);
      expect((await app.call(key)).status).toBe(200);
      const rotated = run(db.module, env, '--json', 'rotate', record.id);
      expect(rotated.status).toBe(0);
      const successor = (JSON.parse(rotated.stdout) as { key: string }).key;
      expect((await app.call(successor)).status).toBe(200);
      expect((await app.call(key)).status).toBe(401);
    });
  });
});
