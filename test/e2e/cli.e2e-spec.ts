import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { ApiKeyEventEntity, apiKeyEntities, apiKeyMigrations } from 'nestjs-opaque-keys';
import { DataSource } from 'typeorm';
import { startSqliteKeyApp } from '../support/sqlite-key-app.js';

/**
 * The operator CLI as a script runs it: the library compiled with
 * tsconfig.build.json into a private folder, `node dist/features/cli/main.js` spawned
 * against a SQLite file, exit codes and output checked. SQLite only. The key
 * format the CLI follows is the one an app records at boot: see
 * cli-key-format.e2e-spec.ts for the keys it issues against it.
 */
// Every command is a fresh Node process that boots Nest (about 1.5 s on a shared core).
jest.setTimeout(120_000);

describe('nestjs-opaque-keys CLI', () => {
  const root = resolve('.');
  const dir = join(root, 'build', `cli-e2e-${process.pid}`);
  const main = join(dir, 'dist', 'features', 'cli', 'main.js');
  const database = join(dir, 'keys.sqlite');
  const dataSourceFile = join(dir, 'data-source.mjs');
  const printedKeys = new Set<string>();

  function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, [main, '-d', dataSourceFile, ...args], {
      encoding: 'utf8',
      env: { ...process.env, API_KEY_PREFIX: '' },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }
  function json(...args: string[]): any {
    const result = cli('--json', ...args);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    return JSON.parse(result.stdout);
  }

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    execFileSync(
      process.execPath,
      [
        join(root, 'node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        join(dir, 'dist'),
        '--sourceMap',
        'false',
      ],
      {
        cwd: root,
        stdio: 'pipe',
      },
    );
    writeFileSync(
      dataSourceFile,
      `import { DataSource } from 'typeorm';\nexport const dataSource = new DataSource({ type: 'better-sqlite3', database: ${JSON.stringify(database)} });\n`,
    );
    const setup = new DataSource({
      type: 'better-sqlite3',
      database,
      entities: apiKeyEntities(),
      synchronize: true,
    });
    await setup.initialize();
    await setup.destroy();
    // The app starts once on the database (default prefix sk) and records its key format there.
    await (await startSqliteKeyApp(database, {})).close();
  }, 180_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('documents commands and exit codes in --help (exit 0)', () => {
    const help = spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const word of [
      'issue',
      'list',
      'show',
      'rotate',
      'revoke',
      'update-scopes',
      '--data-source',
      '--json',
      'Exit codes',
      '5  database unavailable',
    ]) {
      expect(help.stdout).toContain(word);
    }
  });

  it('exits 1 on usage errors, naming what is wrong, with the help after it', () => {
    const usage: [string[], string][] = [
      [['frobnicate'], "error: unknown command 'frobnicate'"],
      [['issue', '--scopes', 'a'], "error: required option '--name <name>' not specified"],
      [['list', '--nope'], "error: unknown option '--nope'"],
      [['list', '--limit'], "error: option '--limit <n>' argument missing"],
      [['show'], "error: missing required argument 'id'"],
      [['show', 'a', 'b'], "error: too many arguments for 'show'. Expected 1 argument but got 2."],
      [['--json=yes', 'list'], "error: option '--json' does not take an argument"],
    ];
    for (const [args, message] of usage) {
      const result = cli(...args);
      expect({ args, status: result.status, stdout: result.stdout }).toEqual({ args, status: 1, stdout: '' });
      expect(result.stderr.split('\n')[0]).toBe(message);
      expect(result.stderr).toContain('Usage: nestjs-opaque-keys');
    }
    const noSource = spawnSync(process.execPath, [main, 'list'], {
      encoding: 'utf8',
      env: { ...process.env, API_KEYS_DATA_SOURCE: '' },
    });
    expect(noSource.status).toBe(1);
    expect(noSource.stderr).toContain("error: required option '-d, --data-source <file>' not specified");
    const missing = spawnSync(process.execPath, [main, '-d', join(dir, 'nope.mjs'), 'list'], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('cannot load --data-source');
    // A bad option the library refuses (an ApiKeyConfigurationError naming it) is a usage error too.
    const prefix = cli('--prefix', 'bad-prefix', 'issue', '--name', 'x', '--scopes', 'a');
    expect({ status: prefix.status, stdout: prefix.stdout }).toEqual({ status: 1, stdout: '' });
    expect(prefix.stderr).toContain("error: --prefix bad-prefix is not this app's key format");
    const table = cli('--table', 'bad name', 'doctor');
    expect({ status: table.status, stderr: table.stderr }).toEqual({
      status: 1,
      stderr: 'error: invalid table name "bad name"\n',
    });
  });

  it('documents each command in its --help, with the global options (exit 0)', () => {
    for (const args of [
      ['issue', '--help'],
      ['help', 'issue'],
      ['-h', 'issue'],
    ]) {
      const help = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
      expect({ args, status: help.status, stderr: help.stderr }).toEqual({ args, status: 0, stderr: '' });
      expect(help.stdout).toContain('Usage: nestjs-opaque-keys [global options] issue [options]');
      for (const option of ['--name <name>', '--scopes <a,b>', '--environment <env>', '--expires-at <iso-date>'])
        expect(help.stdout).toContain(option);
      expect(help.stdout).toContain('-d, --data-source <file>');
    }
    const rotate = spawnSync(process.execPath, [main, 'rotate', '--help'], { encoding: 'utf8' });
    expect(rotate.stdout).toContain('Usage: nestjs-opaque-keys [global options] rotate [options] <id>');
    expect(rotate.stdout).toContain('--grace-seconds <n>');
    // Global options may follow the command.
    expect(
      spawnSync(process.execPath, [main, 'list', '--json', '-d', dataSourceFile], { encoding: 'utf8' }).status,
    ).toBe(0);
  });

  it('issues a key, printing the plaintext once, and lists and shows it without the key', () => {
    const issued = json(
      'issue',
      '--name',
      'ci deploy',
      '--scopes',
      'orders:read, orders:write',
      '--owner',
      'acme',
      '--expires-at',
      '2099-01-01T00:00:00Z',
    );
    printedKeys.add(issued.key);
    expect(issued.key).toMatch(/^sk_[0-9A-Za-z]+$/);
    expect(issued.record).toMatchObject({
      name: 'ci deploy',
      ownerId: 'acme',
      scopes: ['orders:read', 'orders:write'],
      expiresAt: '2099-01-01T00:00:00.000Z',
    });
    expect(issued.record).not.toHaveProperty('hash');

    const human = cli('issue', '--name', 'person', '--scopes', '');
    expect(human.status).toBe(0);
    const key = human.stdout.match(/\bsk_[0-9A-Za-z]{40,}/g) ?? []; // the key, not its short hint
    expect(key).toHaveLength(1);
    printedKeys.add(key[0]!);
    expect(human.stdout).toContain('shown only this once');

    const page = json('list', '--owner', 'acme');
    expect(page).toMatchObject({ total: 1, limit: 50, offset: 0 });
    expect(page.items[0].id).toBe(issued.record.id);
    const table = cli('list');
    expect(table.status).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^ID\s+NAME\s+OWNER\s+HINT\s+SCOPES\s+STATUS\s+EXPIRES\s+LAST USED$/);
    expect(rows[0].indexOf('person')).toBe(header.indexOf('NAME')); // aligned columns
    expect(table.stdout).toContain('2 of 2 key(s)');

    const shown = cli('show', issued.record.id);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(/status\s+active/);
    for (const out of [JSON.stringify(page), table.stdout, shown.stdout])
      for (const k of printedKeys) expect(out).not.toContain(k);
  });

  it('rotates, revokes and re-scopes, with 2 for unknown ids, 3 for state conflicts and 4 for bad input', () => {
    const { record } = json('issue', '--name', 'rotating', '--scopes', 'a');
    const rotated = json('rotate', record.id, '--grace-seconds', '60');
    printedKeys.add(rotated.key);
    expect(rotated.previous).toMatchObject({ id: record.id, replacedById: rotated.record.id });
    expect(cli('rotate', record.id).status).toBe(3);

    expect(json('update-scopes', rotated.record.id, '--scopes', 'a,b').scopes).toEqual(['a', 'b']);
    expect(json('revoke', rotated.record.id, '--reason', 'leaked').revokedReason).toBe('leaked');
    const again = cli('revoke', rotated.record.id);
    expect(again.status).toBe(3);
    expect(again.stderr).toContain('already revoked');

    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const command of [
      ['show', unknown],
      ['revoke', unknown],
      ['rotate', unknown],
      ['update-scopes', unknown, '--scopes', 'a'],
    ]) {
      expect({ command, status: cli(...command).status }).toEqual({ command, status: 2 });
    }
    expect(cli('issue', '--name', 'x', '--scopes', 'a', '--expires-at', 'tomorrow').status).toBe(4);
    expect(cli('issue', '--name', 'x', '--scopes', 'bad scope').status).toBe(4);
    expect(cli('list', '--limit', '1000').status).toBe(4);
    const dashed = cli('list', '--offset', '-1'); // a value may start with a dash
    expect(dashed.status).toBe(4);
    expect(dashed.stderr).toContain('--offset must be a non-negative integer; got "-1"');
    expect(cli('rotate', record.id, '--grace-seconds', 'soon').status).toBe(4);
  });

  it('before an app recorded its format: asks for --prefix (naming the one in use), then takes it or API_KEY_PREFIX', async () => {
    const unrecorded = join(dir, 'unrecorded.mjs');
    const file = join(dir, 'unrecorded.sqlite');
    writeFileSync(
      unrecorded,
      `import { DataSource } from 'typeorm';\nexport default new DataSource({ type: 'better-sqlite3', database: ${JSON.stringify(file)} });\n`,
    );
    const setup = new DataSource({
      type: 'better-sqlite3',
      database: file,
      entities: apiKeyEntities(),
      synchronize: true,
    });
    await setup.initialize();
    await setup.destroy();
    const run = (env: Record<string, string>, ...args: string[]) =>
      spawnSync(process.execPath, [main, '-d', unrecorded, ...args], {
        encoding: 'utf8',
        env: { ...process.env, API_KEY_PREFIX: '', ...env },
      });
    const issued = run({}, '--prefix', 'acme', '--json', 'issue', '--name', 'p', '--scopes', 'a');
    expect(issued.status).toBe(0);
    expect(JSON.parse(issued.stdout).key).toMatch(/^acme_/);
    expect(issued.stderr).toContain(
      'note: no key format is recorded in api_key_events (start the app once to record it)',
    );
    const env = run({ API_KEY_PREFIX: 'envp' }, '--json', 'issue', '--name', 'q', '--scopes', 'a');
    expect(JSON.parse(env.stdout).key).toMatch(/^envp_/);
    const refused = run({}, 'issue', '--name', 'r', '--scopes', 'a');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('error: no key format is recorded in api_key_events');
    expect(refused.stderr).toContain(
      'The active keys in this table carry the prefix "envp" (1), "acme" (1): e.g. --prefix envp.',
    );
  });

  it('exits 5 when the database is unavailable', () => {
    const unreachable = join(dir, 'unreachable.mjs');
    writeFileSync(
      unreachable,
      `import { DataSource } from 'typeorm';\nexport default new DataSource({ type: 'better-sqlite3', database: ${JSON.stringify(join(dataSourceFile, 'keys.sqlite'))} });\n`,
    );
    const result = spawnSync(process.execPath, [main, '-d', unreachable, 'list'], { encoding: 'utf8' });
    expect(result.status).toBe(5);
    expect(result.stderr).toContain('database unavailable');
    const noTable = join(dir, 'no-table.mjs');
    writeFileSync(
      noTable,
      `import { DataSource } from 'typeorm';\nexport default new DataSource({ type: 'better-sqlite3', database: ':memory:' });\n`,
    );
    const missing = spawnSync(process.execPath, [main, '-d', noTable, 'list'], { encoding: 'utf8' });
    expect(missing.status).toBe(6);
    expect(missing.stderr).toContain('does not exist');
    expect(missing.stderr).toContain('apiKeyMigrations("better-sqlite3")');
  });

  it('exits 2 for an id that names no key, whatever it looks like, as --help says', () => {
    expect(spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' }).stdout).toContain(
      '2  not found: no key with that id (whatever the id looks like)',
    );
    for (const id of ['no-such-key', 'x'.repeat(80), '00000000-0000-4000-8000-000000000000']) {
      const shown = cli('show', id);
      expect({ id, status: shown.status }).toEqual({ id, status: 2 });
      expect(shown.stderr).toContain('not found');
    }
  });

  it('records the CLI user as the actor of the audit events it writes', async () => {
    const { record } = json('issue', '--name', 'audited', '--scopes', 'a');
    json('revoke', record.id, '--reason', 'done');
    const check = new DataSource({ type: 'better-sqlite3', database, entities: apiKeyEntities() });
    await check.initialize();
    try {
      const events = await check.getRepository(ApiKeyEventEntity).find({ where: { keyId: record.id } });
      expect(events.map((e) => [e.type, e.actor]).sort()).toEqual([
        ['issued', `cli:${userInfo().username}`],
        ['revoked', `cli:${userInfo().username}`],
      ]);
    } finally {
      await check.destroy();
    }
  });

  it("lists a used-up single-use key as used-up, and filters by --status (4 for a state it doesn't know)", async () => {
    const app = await startSqliteKeyApp(database, {});
    const once = await app.service.issue({ name: 'one-shot', ownerId: 'once', maxUses: 1 });
    const spare = await app.service.issue({ name: 'spare', ownerId: 'once', maxUses: 2 });
    expect((await app.call(once.key)).status).toBe(200);
    expect((await app.call(spare.key)).status).toBe(200);
    expect((await app.call(once.key)).status).not.toBe(200); // no use left
    await app.close();

    const table = cli('list', '--owner', 'once');
    expect(table.status).toBe(0);
    const rows = table.stdout.split('\n').filter((line) => line.includes('one-shot') || line.includes('spare'));
    expect(rows.map((row) => [row.split(/\s{2,}/)[1], row.match(/\b(used-up|active)\b/)?.[0]])).toEqual([
      ['spare', 'active'],
      ['one-shot', 'used-up'],
    ]);
    expect(cli('show', once.record.id).stdout).toMatch(/status\s+used-up/);
    const ids = (status: string) => json('list', '--owner', 'once', '--status', status).items.map((r: any) => r.id);
    expect(ids('used-up')).toEqual([once.record.id]);
    expect(ids('active')).toEqual([spare.record.id]);
    expect(ids('revoked')).toEqual([]);
    const bad = cli('list', '--status', 'spent');
    expect(bad.status).toBe(4);
    expect(bad.stderr).toContain('--status must be one of revoked, disabled, expired, used-up, active; got "spent"');
  });

  describe('doctor, and the prefix of the app the keys belong to', () => {
    /** A SQLite file and its data-source module, with `migrations` of the library run on it. */
    async function databaseWith(name: string, migrations: number): Promise<string> {
      const file = join(dir, `${name}.sqlite`);
      const module = join(dir, `${name}.mjs`);
      writeFileSync(
        module,
        `import { DataSource } from 'typeorm';\nexport default new DataSource({ type: 'better-sqlite3', database: ${JSON.stringify(file)} });\n`,
      );
      const setup = new DataSource({
        type: 'better-sqlite3',
        database: file,
        migrations: apiKeyMigrations('better-sqlite3').slice(0, migrations),
        migrationsRun: true,
      });
      await setup.initialize();
      await setup.destroy();
      return module;
    }
    const run = (module: string, ...args: string[]) =>
      spawnSync(process.execPath, [main, '-d', module, ...args], {
        encoding: 'utf8',
        env: { ...process.env, API_KEY_PREFIX: '' },
      });

    it('on a healthy migrated database an app started on: every check ok, exit 0; keys in its format', async () => {
      const healthy = await databaseWith('healthy', 99);
      await (await startSqliteKeyApp(join(dir, 'healthy.sqlite'), { prefix: 'acme' })).close();
      const issued = run(healthy, '--json', 'issue', '--name', 'a', '--scopes', 'x');
      expect(issued.status).toBe(0);
      expect(JSON.parse(issued.stdout).key).toMatch(/^acme_/);
      const doctor = run(healthy, 'doctor');
      expect({ status: doctor.status, stderr: doctor.stderr }).toEqual({ status: 0, stderr: '' });
      expect(doctor.stdout).toContain('unique index on api_keys.hash');
      expect(doctor.stdout).toContain('migrations recorded as run');
      expect(doctor.stdout).toContain('key format recorded by the app at');
      expect(doctor.stdout).toContain('1 active key(s), all with the prefix "acme"');
      expect(doctor.stdout).not.toMatch(/WARNING|ERROR/);
      expect(run(healthy, '--prefix', 'acme', 'doctor').status).toBe(0);

      // Another prefix than the app's: doctor warns, issue refuses, both naming the fix.
      const wrong = run(healthy, '--prefix', 'sk', 'doctor');
      expect(wrong.status).toBe(7);
      expect(wrong.stdout).toContain("WARNING  issue refuses: --prefix sk is not this app's key format");
      const refused = run(healthy, '--prefix', 'sk', 'issue', '--name', 'b', '--scopes', 'x');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(
        'error: --prefix sk is not this app\'s key format: it issues keys "acme_...", and would reject a key "sk_..." ' +
          "as malformed. Drop --prefix (the CLI reads the app's format).",
      );
      expect(refused.stdout).toBe('');
      const noEnvironments = run(healthy, 'issue', '--name', 'c', '--scopes', 'x', '--environment', 'test');
      expect({ status: noEnvironments.status, stderr: noEnvironments.stderr }).toEqual({
        status: 1,
        stderr: 'error: the app has no environments (its keys are "acme_..."): drop --environment test.\n',
      });
    });

    it('on broken databases: names what is missing with the fix, exit 6', async () => {
      const empty = await databaseWith('empty', 0);
      const none = run(empty, 'doctor');
      expect(none.status).toBe(6);
      expect(none.stdout).toMatch(/ERROR +table api_keys does not exist/);
      expect(none.stdout.split(`npx typeorm migration:run -d ${empty}`)).toHaveLength(2); // the fix, once
      expect(none.stdout).toMatch(/ERROR +migrations not run: CreateApiKeys1795478400000/);

      const half = await databaseWith('half', 1);
      const columns = run(half, '--json', 'doctor');
      expect(columns.status).toBe(6);
      const findings = JSON.parse(columns.stdout);
      expect(findings).toContainEqual(
        expect.objectContaining({ level: 'error', message: expect.stringContaining('lacks column(s)') }),
      );
    });

    it('on tables made by synchronize: warns that the migrations are not recorded, exit 7', () => {
      const synced = run(dataSourceFile, 'doctor');
      expect(synced.status).toBe(7);
      expect(synced.stdout).toContain('not recorded as run: CreateApiKeys1795478400000');
      expect(synced.stdout).toContain('Moving from synchronize to migrations');
    });

    it('exits 5 when it cannot connect', () => {
      const unreachable = join(dir, 'unreachable.mjs');
      expect(run(unreachable, 'doctor').status).toBe(5);
    });
  });
});
