#!/usr/bin/env node
// Consumer smoke tests (`npm run test:consumers`): does the packed library
// work for real apps installed from the npm registry?
//
//   1. Build lib/ as `npm run build` does (tsc with tsconfig.build.json, then the
//      admin console's assets) into a private staging folder (the shared dist/ is
//      left alone) and `npm pack` it. The packed package.json must have no runtime
//      `dependencies` and `"sideEffects": false`; every feature entry and the
//      console's assets must be in the tarball.
//   2. For each app below: a fresh temp project, a plain `npm install` (no
//      --legacy-peer-deps, no --force) of the tarball and the app's packages from
//      the registry (installs run in parallel), which must print no ERESOLVE, then
//      `node <app>` on an in-memory SQLite (sql.js, no native build):
//      - esm-nest12: the core only, without any optional peer; one key issued with
//        ApiKeyService, one request with it (200) and one without (401);
//      - cjs-nest11: the same through require(esm) on Nest 11 and TypeORM 0.3, with
//        every optional peer on its Nest 11 line; every feature entry is required, and
//        @nestjs/event-emitter 3 hears the key's `api-key.issued`;
//      - esm-nest12-features: EVERY optional peer of package.json at its newest
//        version, one app per feature entry point, each verifying a key over HTTP.
//
// Prints one summary line per app (and per feature); exits non-zero if any failed.
// KEEP_TMP=1 keeps the temp folder; CONSUMER_TIMEOUT_MS bounds each step (default 300000).
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const timeoutMs = Number(process.env.CONSUMER_TIMEOUT_MS ?? 300_000);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The optional peers, installed by bare name: `npm install <name>` takes the newest version (`latest`). */
const OPTIONAL_PEERS = Object.entries(manifest.peerDependenciesMeta ?? {})
  .filter(([, meta]) => meta.optional)
  .map(([name]) => name);
const NEST12 = [
  '@nestjs/common@^12',
  '@nestjs/core@^12',
  '@nestjs/platform-express@^12',
  '@nestjs/typeorm@^12',
  'typeorm@^1',
  'reflect-metadata@^0.2',
  'rxjs@^7',
  'sql.js@^1',
];
const CORE_REPORTED = ['@nestjs/common', '@nestjs/core', '@nestjs/typeorm', 'typeorm', 'sql.js'];
/** The optional peers' Nest 11 lines where their newest major needs Nest 12; the others at their newest. */
const NEST11_LINES = {
  '@nestjs/event-emitter': '^3',
  '@nestjs/schedule': '^6',
  '@nestjs/microservices': '^11',
  '@nestjs/passport': '^11',
  '@nestjs/swagger': '^11',
  '@nestjs/websockets': '^11',
};
const PEERS_FOR_NEST11 = OPTIONAL_PEERS.map((name) => (NEST11_LINES[name] ? `${name}@${NEST11_LINES[name]}` : name));

/** The consumer apps: their module type, entry file, dependencies from the registry and versions to report. */
const APPS = [
  {
    name: 'esm-nest12',
    label: 'ESM, Nest 12, TypeORM 1.x',
    type: 'module',
    entry: 'esm-nest12.mjs',
    deps: NEST12,
    reported: CORE_REPORTED,
  },
  {
    name: 'cjs-nest11',
    label: 'CommonJS (require(esm)), Nest 11, TypeORM 0.3, every optional peer on its Nest 11 line',
    type: 'commonjs',
    entry: 'cjs-nest11.cjs',
    deps: [
      '@nestjs/common@^11',
      '@nestjs/core@^11',
      '@nestjs/platform-express@^11',
      '@nestjs/typeorm@^11',
      'typeorm@^0.3.20',
      'reflect-metadata@^0.2',
      'rxjs@^7',
      'sql.js@^1',
      ...PEERS_FOR_NEST11,
    ],
    reported: [...CORE_REPORTED, ...Object.keys(NEST11_LINES)],
  },
  {
    name: 'esm-nest12-features',
    label: 'ESM, Nest 12, every optional peer at its newest, one app per feature',
    type: 'module',
    entry: 'esm-nest12-features.mjs',
    // The ws adapter and client serve the websockets feature's check; they are not peers of the library.
    deps: [...NEST12, ...OPTIONAL_PEERS, '@nestjs/platform-ws@^12', 'ws@^8'],
    reported: ['@nestjs/common', ...OPTIONAL_PEERS],
  },
];

/** Runs a command; resolves with its exit code and output (never rejects). */
function run(command, args, cwd) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      // A plain install, whatever the user's npmrc says: peer conflicts must fail it.
      env: {
        ...process.env,
        npm_config_fund: 'false',
        npm_config_audit: 'false',
        npm_config_legacy_peer_deps: 'false',
        npm_config_force: 'false',
      },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => (output += String(error)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? `killed by ${signal}` : 1), output });
    });
  });
}

const tail = (text, lines = 25) => text.trimEnd().split('\n').slice(-lines).join('\n');
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Builds (as `npm run build`: tsc, then the admin console's assets) and packs the library; returns the tarball's path. */
async function pack(work) {
  const staging = join(work, 'package');
  mkdirSync(staging);
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = await run(
    process.execPath,
    [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(staging, 'dist')],
    root,
  );
  if (built.code !== 0) throw new Error(`build failed:\n${tail(built.output)}`);
  const assets = join(staging, 'dist', 'features', 'admin', 'assets');
  const ui = await run(process.execPath, [join(root, 'scripts', 'build-admin-ui.mjs'), assets], root);
  if (ui.code !== 0) throw new Error(`admin console build failed:\n${tail(ui.output)}`);
  for (const file of ['package.json', 'README.md', 'LICENSE']) cpSync(join(root, file), join(staging, file));
  const packed = await run(npm, ['pack', '--pack-destination', work], staging);
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${tail(packed.output)}`);
  return join(
    work,
    readdirSync(work).find((file) => file.endsWith('.tgz')),
  );
}

/**
 * What the tarball holds: no runtime `dependencies` (the core needs none; optional features use peers),
 * `"sideEffects": false`, and every feature's entry (`nestjs-opaque-keys/<feature>`) with its types, and the
 * admin console's built page. Resolves with the problems found (none: an empty list).
 */
async function packageProblems(tarball) {
  const listed = await run('tar', ['-tzf', tarball], root);
  const read = await run('tar', ['-xzOf', tarball, 'package/package.json'], root);
  if (listed.code !== 0 || read.code !== 0)
    return [`tar could not read the tarball: ${tail(listed.output + read.output)}`];
  const packed = JSON.parse(read.output);
  const files = new Set(listed.output.split('\n').map((line) => line.trim()));
  const problems = [];
  const dependencies = Object.keys(packed.dependencies ?? {});
  if (dependencies.length > 0) problems.push(`runtime dependencies ${dependencies.join(', ')} (expected none)`);
  if (packed.sideEffects !== false) problems.push(`sideEffects is ${JSON.stringify(packed.sideEffects)}, not false`);
  // Every `nestjs-opaque-keys/<feature>` entry (a folder with an index.ts) and every bin.
  const entries = readdirSync(join(root, 'lib', 'features')).filter((f) =>
    existsSync(join(root, 'lib', 'features', f, 'index.ts')),
  );
  const expected = [
    'package/dist/index.js',
    'package/dist/index.d.ts',
    ...entries.flatMap((f) => [`package/dist/features/${f}/index.js`, `package/dist/features/${f}/index.d.ts`]),
    ...Object.values(packed.bin ?? {}).map((file) => `package/${file.replace(/^\.\//, '')}`),
    'package/dist/features/admin/assets/app.js',
    'package/dist/features/admin/assets/app.css',
  ];
  const missing = expected.filter((file) => !files.has(file));
  if (missing.length > 0) problems.push(`missing from the tarball: ${missing.join(', ')}`);
  return problems;
}

/** Installs and runs one app; resolves with its summary. */
async function check(app, tarball, work) {
  const started = Date.now();
  const dir = join(work, app.name);
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `consumer-${app.name}`, private: true, type: app.type }, null, 2),
  );
  cpSync(join(here, app.entry), join(dir, app.entry));
  const install = await run(npm, ['install', '--no-audit', '--no-fund', '--loglevel=warn', tarball, ...app.deps], dir);
  const installTime = seconds(started);
  if (install.code !== 0) return { app, ok: false, detail: `npm install failed (${installTime})`, log: install.output };
  // npm may settle a peer conflict by overriding a peer range, with a warning: that is a failure here too.
  if (/ERESOLVE/.test(install.output))
    return { app, ok: false, detail: `npm install reported ERESOLVE (${installTime})`, log: install.output };
  const versions = app.reported
    .map((name) => {
      try {
        return `${name}@${JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version}`;
      } catch {
        return `${name}@?`;
      }
    })
    .join(' ');
  const ran = await run(process.execPath, [app.entry], dir);
  const result = ran.output.match(/^RESULT .*$/m)?.[0] ?? `no result line (exit ${ran.code})`;
  const ok = ran.code === 0 && result.startsWith('RESULT ok');
  return {
    app,
    ok,
    detail: `${result.replace(/^RESULT /, '')} [install ${installTime}, total ${seconds(started)}] ${versions}`,
    features: ran.output.match(/^FEATURE .*$/gm) ?? [],
    log: ran.output,
  };
}

const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'nestjs-opaque-keys-consumers-'));
let failed = false;
try {
  console.log(`node ${process.version}; work folder ${work}`);
  const tarball = await pack(work);
  console.log(`packed ${tarball.split(/[\\/]/).pop()} (${seconds(started)})`);
  const [problems, ...results] = await Promise.all([
    packageProblems(tarball),
    ...APPS.map((app) => check(app, tarball, work)),
  ]);
  for (const result of results) {
    if (!result.ok) console.log(`\n--- ${result.app.name} output ---\n${tail(result.log, 40)}`);
  }
  console.log('\nConsumer summary:');
  const packageDetail = problems.length
    ? problems.join('; ')
    : 'no dependencies, sideEffects false, entries and assets';
  console.log(`  ${problems.length ? 'FAIL' : 'PASS'}  ${'package'.padEnd(19)} the tarball: ${packageDetail}`);
  failed ||= problems.length > 0;
  for (const { app, ok, detail, features = [] } of results) {
    console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${app.name.padEnd(19)} ${app.label}: ${detail}`);
    for (const line of features) console.log(`          ${line.replace(/^FEATURE /, '').split('\n')[0]}`);
    failed ||= !ok;
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  failed = true;
} finally {
  console.log(`checks done in ${seconds(started)}`);
  const cleanup = Date.now();
  if (process.env.KEEP_TMP === '1') console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
  // Deleting the three apps' node_modules (about 40,000 files) is slow on a busy disk.
  if (process.env.KEEP_TMP !== '1') console.log(`temp folder removed in ${seconds(cleanup)}`);
}
console.log(`total ${seconds(started)}`);
process.exitCode = failed ? 1 : 0;
