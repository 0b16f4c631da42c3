#!/usr/bin/env node
// Consumer smoke tests (`npm run test:consumers`): does the packed library
// work for real apps installed from the npm registry?
//
//   1. Build lib/ with tsc (tsconfig.build.json, as `npm run build`) into a
//      private staging folder (the shared dist/ is left alone) and `npm pack` it.
//   2. For each app below: a fresh temp project, `npm install` of the tarball
//      and the app's peers from the registry (installs run in parallel), then
//      `node <app>`: Nest on an in-memory SQLite (sql.js, no native build),
//      one key issued with ApiKeyService, one request with it (200) and one
//      without (401).
//
// Prints one summary line per app; exits non-zero if any app failed.
// KEEP_TMP=1 keeps the temp folder; CONSUMER_TIMEOUT_MS bounds each step (default 300000).
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const timeoutMs = Number(process.env.CONSUMER_TIMEOUT_MS ?? 300_000);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The consumer apps: their module type, entry file and dependencies from the registry. */
const APPS = [
  {
    name: 'esm-nest12',
    label: 'ESM, Nest 12, TypeORM 1.x',
    type: 'module',
    entry: 'esm-nest12.mjs',
    deps: [
      '@nestjs/common@^12',
      '@nestjs/core@^12',
      '@nestjs/platform-express@^12',
      '@nestjs/typeorm@^12',
      'typeorm@^1',
      'reflect-metadata@^0.2',
      'rxjs@^7',
      'sql.js@^1',
    ],
  },
  {
    name: 'cjs-nest11',
    label: 'CommonJS (require(esm)), Nest 11, TypeORM 0.3',
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
    ],
  },
];
const REPORTED = ['@nestjs/common', '@nestjs/core', '@nestjs/typeorm', 'typeorm', 'sql.js'];

/** Runs a command; resolves with its exit code and output (never rejects). */
function run(command, args, cwd) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' },
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

/** Builds and packs the library; returns the tarball's path. */
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
  for (const file of ['package.json', 'README.md', 'LICENSE']) cpSync(join(root, file), join(staging, file));
  const packed = await run(npm, ['pack', '--pack-destination', work], staging);
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${tail(packed.output)}`);
  return join(
    work,
    readdirSync(work).find((file) => file.endsWith('.tgz')),
  );
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
  const install = await run(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, ...app.deps], dir);
  const installTime = seconds(started);
  if (install.code !== 0) return { app, ok: false, detail: `npm install failed (${installTime})`, log: install.output };
  const versions = REPORTED.map((name) => {
    try {
      return `${name}@${JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version}`;
    } catch {
      return `${name}@?`;
    }
  }).join(' ');
  const ran = await run(process.execPath, [app.entry], dir);
  const result = ran.output.match(/^RESULT .*$/m)?.[0] ?? `no result line (exit ${ran.code})`;
  const ok = ran.code === 0 && result.startsWith('RESULT ok');
  return {
    app,
    ok,
    detail: `${result.replace(/^RESULT /, '')} [install ${installTime}, total ${seconds(started)}] ${versions}`,
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
  const results = await Promise.all(APPS.map((app) => check(app, tarball, work)));
  for (const result of results) {
    if (!result.ok) console.log(`\n--- ${result.app.name} output ---\n${tail(result.log, 40)}`);
  }
  console.log('\nConsumer summary:');
  for (const { app, ok, detail } of results) {
    console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${app.name.padEnd(11)} ${app.label}: ${detail}`);
    failed ||= !ok;
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  failed = true;
} finally {
  if (process.env.KEEP_TMP === '1') console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
console.log(`total ${seconds(started)}`);
process.exitCode = failed ? 1 : 0;
