import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { transformFileSync } from '@swc/core';
import type { DataSourceOptions } from 'typeorm';

/**
 * The last release (0.1): commit 2573308, the tree before the features moved to `lib/features/<name>/`.
 * The upgrade test runs its own code, taken from git, to write a database as a 0.1 host would have.
 */
export const RELEASE_0_1_COMMIT = '2573308369975946b263f897fe5abfa1ae3521a0';

/**
 * Takes the 0.1 release's `lib/` out of git (`git archive`) into `dir/lib` and compiles it there with SWC
 * (legacy decorators with their metadata, as its own tsconfig compiled it), beside this checkout's
 * node_modules, so a Node process can import `dir/lib/index.js` as 0.1's main entry. About a second.
 * @throws when the commit is not in this clone (a shallow clone: `git fetch --unshallow`)
 */
export function buildRelease01(dir: string): string {
  const root = resolve('.');
  try {
    execFileSync('git', ['cat-file', '-e', `${RELEASE_0_1_COMMIT}^{commit}`], { cwd: root, stdio: 'pipe' });
  } catch {
    throw new Error(
      `the upgrade test needs release 0.1 (commit ${RELEASE_0_1_COMMIT}) in this clone's history: ` +
        'run `git fetch --unshallow` (CI clones with full history)',
    );
  }
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['archive', '--format=tar', RELEASE_0_1_COMMIT, 'lib'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  const lib = join(dir, 'lib');
  for (const file of sourceFiles(lib)) {
    const { code } = transformFileSync(file, {
      jsc: {
        target: 'es2023',
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      },
      module: { type: 'es6' },
      sourceMaps: false,
    });
    writeFileSync(file.replace(/\.ts$/, '.js'), code);
  }
  return join(lib, 'index.js');
}

/** The `.ts` files of the 0.1 library, but its admin console's browser code (not part of the server entry). */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !relative(dir, file).startsWith(join('integrations', 'admin', 'ui')));
}

/** What the 0.1 generator wrote, read back (see test/support/release-0.1-generator.mjs). */
export interface Release01Fixture {
  /** Each key by its role: its id, setup, plaintext, and the HTTP status 0.1's guard gave it last. */
  keys: Record<string, { id: string; setup: 'default' | 'partners'; key: string; status: number }>;
  /** The 0.1 service's `get(id)` of each key id, as JSON. */
  records: Record<string, Record<string, unknown>>;
  /** The 0.1 service's `listEvents({ keyId })` of each key id, as JSON. */
  events: Record<string, unknown[]>;
  /** The 0.1 service's `usage({ keyId, from, to })` of each key id of the default setup, as JSON. */
  usage: Record<string, unknown>;
  /** The usage window asked for (ISO strings). */
  usageWindow: { from: string; to: string };
  /** 0.1's `ApiKeyWebhookLog.list({ keyId })` of each key id of the default setup, as JSON. */
  deliveries: Record<string, unknown[]>;
  /** The rows of TypeORM's migrations table after 0.1's migrations ran. */
  migrations: string[];
  /** The options of both setups, as given to 0.1 (what a host moves into the features). */
  settings: { partnersTagSecret: string; webhookSecret: string; webhookUrl: string; deadUrl: string };
}

/**
 * Runs test/support/release-0.1-generator.mjs in its own Node process on the 0.1 build at `entry`,
 * against `database` (the connection options of this test file's database), and returns what it wrote.
 */
export async function generateRelease01Database(
  entry: string,
  database: DataSourceOptions,
  outFile: string,
): Promise<Release01Fixture> {
  const generator = join(dirname(new URL(import.meta.url).pathname), 'release-0.1-generator.mjs');
  const child = spawn(process.execPath, [generator, entry, outFile], {
    env: { ...process.env, RELEASE_DATABASE: JSON.stringify(database) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`the 0.1 generator exited with ${code}:\n${output.slice(-4000)}`);
  return JSON.parse(readFileSync(outFile, 'utf8')) as Release01Fixture;
}
