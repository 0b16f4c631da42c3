import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { serverUrl, testDatabase, testSchema } from '../support/database.js';
import { freshFetch } from '../support/fresh-fetch.js';

/**
 * The README is code: every TypeScript block of its "Use it in your app"
 * section (each a whole file, named by its first line `// src/<file>.ts`) is
 * written into a scratch app, compiled with tsc (with exactly the tsconfig
 * options the section names) against the library installed from `npm pack`,
 * and run: the app boots (its migrations run the Nest way), the section's
 * `npx nestjs-opaque-keys` lines run against it (an admin key, doctor), and
 * the routes answer as the text says, including what a copied KeysController
 * must refuse: body fields it does not declare (400) and keys wider than the
 * calling admin key (403, issue and rotate). SQLite in `npm test`;
 * with DB_TYPE=postgres the app gets DATABASE_URL, as the README's database.ts reads it.
 */
// Building, packing and installing the library takes a while on a shared core.
jest.setTimeout(300_000);

const root = resolve('.');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
/** The compiler options the README names, exactly: the scratch app is compiled with these and no others. */
const README_TSCONFIG = {
  module: 'nodenext',
  rootDir: 'src',
  outDir: 'dist',
  types: ['node'],
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
};

/** The README section that tells a new app what to write. */
function usageSection(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Use it in your app');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The fenced blocks of one language in `text`. */
function blocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

/** Splits a shell line into words (quotes honoured, a trailing `# comment` dropped). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(#.*$)|(\S+)/g)) {
    if (m[3]) break;
    out.push(m[1] ?? m[2] ?? m[4]);
  }
  return out;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: result.status, out: `${result.stdout}${result.stderr}`, stdout: result.stdout };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

describe('README "Use it in your app"', () => {
  const dir = join(root, 'build', `readme-${process.pid}`);
  const section = usageSection();
  const files = blocks(section, 'ts').map((code) => ({ path: code.match(/^\/\/ (src\/\S+\.ts)/)?.[1], code }));
  const env: NodeJS.ProcessEnv = {};
  let app: ChildProcess | undefined;
  let appOutput = '';
  let base = '';

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'package'), { recursive: true });
    // 1. The library as npm would ship it: built, packed, installed (its peers resolve from this project).
    const built = run(
      process.execPath,
      [tsc, '-p', 'tsconfig.build.json', '--outDir', join(dir, 'package', 'dist')],
      root,
    );
    expect(built).toMatchObject({ status: 0 });
    for (const file of ['package.json', 'README.md', 'LICENSE']) cpSync(join(root, file), join(dir, 'package', file));
    expect(run('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], join(dir, 'package'))).toMatchObject({
      status: 0,
    });
    const tarball = readdirSync(dir).find((file) => file.endsWith('.tgz'))!;
    const appDir = join(dir, 'app');
    mkdirSync(appDir);
    writeFileSync(
      join(appDir, 'package.json'),
      JSON.stringify({ name: 'readme-app', private: true, type: 'module', dependencies: {} }),
    );
    const install = run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--legacy-peer-deps',
        '--loglevel=error',
        join(dir, tarball),
      ],
      appDir,
    );
    expect(install).toMatchObject({ status: 0 });
    // 2. The README's files, compiled as the README says (ESM, nodenext, decorators with metadata).
    for (const { path, code } of files) {
      mkdirSync(dirname(join(appDir, path!)), { recursive: true });
      writeFileSync(join(appDir, path!), code);
    }
    writeFileSync(
      join(appDir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: README_TSCONFIG, include: ['src'] }),
    );
    const compiled = run(process.execPath, [tsc, '-p', 'tsconfig.json'], appDir);
    expect({ status: compiled.status, out: compiled.out }).toEqual({ status: 0, out: '' });
    // 3. The app, on SQLite (its database.ts default) or the test PostgreSQL schema (DATABASE_URL).
    if (testDatabase() === 'postgres') {
      const url = new URL(serverUrl());
      url.searchParams.set('options', `-c search_path=${testSchema()}`);
      env.DATABASE_URL = url.toString();
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = spawn(process.execPath, ['dist/main.js'], {
      cwd: join(dir, 'app'),
      env: { ...process.env, ...env, PORT: String(port) },
    });
    app.stdout!.on('data', (chunk) => (appOutput += chunk));
    app.stderr!.on('data', (chunk) => (appOutput += chunk));
    for (let i = 0; ; i++) {
      const up = await freshFetch(`${base}/orders/status`).then(
        (res) => res.ok,
        () => false,
      );
      if (up) break;
      if (i > 200 || app.exitCode !== null) throw new Error(`the README app did not start:\n${appOutput}`);
      await new Promise((done) => setTimeout(done, 100));
    }
  });

  afterAll(() => {
    app?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has whole, named files: module, database with migrations, main, guarded routes, service, DataSource', () => {
    expect(files.map((file) => file.path).sort()).toEqual([
      'src/app.module.ts',
      'src/data-source.ts',
      'src/database.ts',
      'src/keys.controller.ts',
      'src/main.ts',
      'src/orders.controller.ts',
    ]);
    expect(section).toContain('migrationsRun: true');
    expect(section).toMatch(/npm install nestjs-opaque-keys .*@nestjs\/platform-express .*better-sqlite3 /);
    expect(section).toMatch(/npm install nestjs-opaque-keys .* class-validator class-transformer\n/);
    expect(section).toContain('npm install -D typescript @types/node\n');
    // The TypeScript setup a new app needs is named, option by option, as the test compiles it.
    for (const [option, value] of Object.entries(README_TSCONFIG))
      expect(section).toContain(`"${option}": ${JSON.stringify(value)}`);
    expect(section).toContain('app.enableShutdownHooks()');
  });

  it('issues a key with the CLI line, passes doctor, and serves the routes as the README says', async () => {
    const cliLines = blocks(section, 'bash')
      .flatMap((block) => block.split('\n'))
      .filter((line) => line.startsWith('npx nestjs-opaque-keys '));
    expect(cliLines.length).toBeGreaterThanOrEqual(2);
    const main = join(dir, 'app', 'node_modules', 'nestjs-opaque-keys', 'dist', 'features', 'cli', 'main.js');
    const outputs: Record<string, { status: number | null; stdout: string; out: string }> = {};
    for (const line of cliLines) {
      const args = words(line).slice(2);
      outputs[args.find((word) => ['issue', 'doctor'].includes(word)) ?? line] = run(
        process.execPath,
        [main, ...args],
        join(dir, 'app'),
        { ...env, API_KEY_PREFIX: '' },
      );
    }
    expect(outputs.issue).toMatchObject({ status: 0 });
    const admin = outputs.issue.stdout.match(/\bacme_[0-9A-Za-z]{40,}/)?.[0] ?? '';
    expect(admin).not.toBe('');
    expect(outputs.doctor.out).not.toMatch(/WARNING|ERROR/);
    expect(outputs.doctor.status).toBe(0);

    const call = (path: string, key?: string, body?: unknown) =>
      freshFetch(`${base}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          ...(key ? { Authorization: `Bearer ${key}` } : {}),
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await call('/orders/status')).status).toBe(200);
    expect((await call('/orders')).status).toBe(401);
    expect((await call('/orders', admin)).status).toBe(200); // keys:admin and orders:*, no owner

    const issued = await call('/keys', admin, { name: 'reporting', ownerId: 'team-42', scopes: ['orders:read'] });
    expect(issued.status).toBe(201);
    const { key, record } = (await issued.json()) as { key: string; record: { id: string; expiresAt: string } };
    // defaultLifetimeMs: 90 days (the CLI's admin key got the same default, a moment earlier, so it cuts nothing).
    expect(Math.round((Date.parse(record.expiresAt) - Date.now()) / 86_400_000)).toBe(90);
    const orders = await call('/orders', key);
    expect({ status: orders.status, body: await orders.json() }).toEqual({
      status: 200,
      body: { ownerId: 'team-42', orders: [] },
    });
    expect((await call('/orders/1/refund', key, {})).status).toBe(403);
    const total = async () => ((await (await call('/keys', admin)).json()) as { total: number }).total;
    expect(await total()).toBe(2);

    // The body is checked (class-validator, main.ts's ValidationPipe): a field the DTO does not declare is
    // refused with 400, not ignored, and so is a wrong type; nothing is issued.
    for (const [body, message] of [
      [{ name: 'x', scopes: [], rateLimit: { limit: 1_000_000, windowMs: 1 } }, 'property rateLimit should not exist'],
      [{ name: 'x', scopes: [], maxUses: 1_000_000 }, 'property maxUses should not exist'],
      [{ name: 'x', scopes: [], metadata: { plan: 'gold' } }, 'property metadata should not exist'],
      [{ name: 'x', scopes: [], expiresAt: '2099-01-01T00:00:00Z' }, 'property expiresAt should not exist'],
      [{ name: 'x', scopes: 'orders:read' }, 'scopes must be an array'],
      [{ name: 42, scopes: [] }, 'name must be a string'],
      [{ name: '', scopes: [] }, 'name must be longer than or equal to 1 characters'],
    ] as const) {
      const res = await call('/keys', admin, body);
      expect({ status: res.status, message: ((await res.json()) as { message: string[] }).message }).toEqual({
        status: 400,
        message: expect.arrayContaining([message]),
      });
    }
    // Delegation (actingAs): a key grants only what it holds. keys:admin + orders:* asking for * is 403.
    for (const scopes of [['*'], ['keys:*'], ['billing:read']]) {
      const res = await call('/keys', admin, { name: 'wider', scopes });
      expect({ status: res.status, body: await res.json() }).toEqual({
        status: 403,
        body: {
          statusCode: 403,
          error: 'Forbidden',
          message: expect.stringContaining(`cannot grant ${JSON.stringify(scopes[0])}: it does not hold it`),
          code: 'ERR_API_KEY_DELEGATION_SCOPE',
        },
      });
    }
    expect(await total()).toBe(2);
    // Nor may it rotate a wider key (the successor's plaintext would be its): 403, no key in the answer.
    const issueLine = words(cliLines.find((line) => / issue /.test(line))!).slice(2);
    const globals = issueLine.slice(0, issueLine.indexOf('issue')); // -d ... --prefix acme, as the README has them
    const wide = run(
      process.execPath,
      [main, ...globals, '--json', 'issue', '--name', 'root', '--scopes', '*'],
      join(dir, 'app'),
      {
        ...env,
        API_KEY_PREFIX: '',
      },
    );
    expect(wide).toMatchObject({ status: 0 });
    const rootKey = JSON.parse(wide.stdout) as { key: string; record: { id: string } };
    const refused = await call(`/keys/${rootKey.record.id}/rotate`, admin, {});
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toMatch(/acme_[0-9A-Za-z]{40,}/);
    expect((await call('/keys', rootKey.key)).status).toBe(200); // still the one live root key

    const rotated = (await (await call(`/keys/${record.id}/rotate`, admin, {})).json()) as { key: string };
    expect((await call('/orders', rotated.key)).status).toBe(200);
    expect((await call('/orders', key)).status).toBe(200); // in its grace hour
    expect((await call(`/keys/${record.id}/revoke`, admin, {})).status).toBe(201);
    expect((await call('/orders', key)).status).toBe(401);
    expect((await call(`/keys/${record.id}/revoke`, admin, {})).status).toBe(409); // ApiKeyExceptionFilter
    expect(appOutput).not.toContain(key);
  });
});
