/**
 * `npm run bench -- --instructions [--only=a,b] [--warmup=N] [--windows=N] [--window=N] [--gap=N]
 *   [--connections=C] [--parallel=P] [--nice=N] [--top=K]`
 *
 * Instructions per request, counted by valgrind's callgrind in a long-running
 * server: each variant alone in `node --predictable --perf-basic-prof` under
 * `valgrind --tool=callgrind --instr-atstart=no`, warmed up with instrumentation
 * off, then counted over windows of requests (`callgrind_control -i on/off`,
 * one dump per window) sent on keep-alive connections by a client outside
 * valgrind. The figure is the smallest window (GC moves a window by a few
 * percent). Unlike req/s, it does not move with the machine's load, so several
 * variants may run side by side (`--parallel`; each server's PostgreSQL
 * backends, whose CPU is read, are told apart by their `application_name`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { callgrindControl, compileCost, dumpTotal, functionCosts } from './callgrind.js';
import {
  DATA_DIR,
  HERE,
  POSTGRES_URL,
  RESULTS_DIR,
  ROOT,
  SERVER_DATABASE,
  VARIANTS,
  credentialsFile,
  expectedStatus,
  updateReadmeSection,
  validCredentialsFile,
  type Variant,
} from './config.js';
import { loadExactly, type LoadCount } from './exact-load.js';
import { renderInstructions, type InstructionResults, type VariantInstructions } from './instructions-report.js';
import { seedKeys, writeStaticCredentials } from './seed.js';

/** The variants of the instructions mode; the library's live and cached ones also get their top functions. */
export const INSTRUCTION_VARIANTS = [
  'bare',
  'noop-check-guard',
  'noop-refuse-guard',
  'jwt-keyobject',
  'lib-sqlite-1k',
  'lib-sqlite-1k-features',
  'lib-sqlite-1k-batched',
  'lib-sqlite-1k-cache',
  'lib-sqlite-1k-forged-tag',
  'lib-postgres-1k',
  'lib-postgres-1k-cache',
  'lib-postgres-1k-forged-tag',
];
const PROFILED = ['lib-sqlite-1k', 'lib-sqlite-1k-cache', 'lib-postgres-1k', 'lib-postgres-1k-cache'];

interface Options {
  only?: string[];
  warmup: number;
  /** The niceness of the servers under valgrind (`nice -n`). */
  nice: number;
  windows: number;
  window: number;
  gap: number;
  connections: number;
  parallel: number;
  top: number;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const number = (name: string, fallback: number) => Number(value(name) ?? fallback);
  return {
    only: value('only')?.split(','),
    warmup: number('warmup', 40_000),
    nice: number('nice', 10),
    windows: number('windows', 5),
    window: number('window', 1_000),
    gap: number('gap', 1_000),
    connections: number('connections', 16),
    parallel: number('parallel', 2),
    top: number('top', 12),
  };
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

/** Starts the variant's server under callgrind (instrumentation off); resolves with its pid and port. */
async function startUnderCallgrind(
  variant: Variant,
  dir: string,
  nice: number,
): Promise<{ child: ChildProcess; port: number }> {
  const args = ['-n', String(nice), 'valgrind', '--tool=callgrind', '--instr-atstart=no'];
  args.push(`--callgrind-out-file=${join(dir, 'cg.%p.out')}`, process.execPath, '--predictable', '--perf-basic-prof');
  // V8's code log (written with the perf map) goes beside the dumps, not into the working directory.
  args.push('--no-logfile-per-isolate', `--logfile=${join(dir, 'v8.log')}`);
  const child = spawn('nice', [...args, join(HERE, 'server.js'), variant.id, '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: ROOT,
  });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${variant.id} did not start in 600 s`)), 600_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /READY (\d+)/.exec((out += chunk));
      if (match) clearTimeout(timer);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${variant.id} exited with ${code}: ${err.slice(-2000)}`)));
  });
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

async function statements(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/__stats`);
  return ((await response.json()) as { statements: number }).statements;
}

/**
 * CPU time (ns, from /proc/<pid>/schedstat) of each PostgreSQL backend serving the bench server `server`, by
 * backend pid: a window's CPU is the growth of the backends alive at its end (one that ended in between is lost).
 */
async function postgresBackendNs(server: number): Promise<Map<number, number>> {
  const admin = new DataSource({ type: 'postgres', url: `${POSTGRES_URL}/postgres` });
  await admin.initialize();
  try {
    const rows: { pid: number }[] = await admin.query(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
      [SERVER_DATABASE, `bench-server-${server}`],
    );
    const ns = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        ns.set(pid, Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // a backend that ended in between
      }
    }
    return ns;
  } finally {
    await admin.destroy();
  }
}

/** The newest dump callgrind wrote in `dir`. */
function newestDump(dir: string, pid: number): string {
  const parts = readdirSync(dir)
    .map((f) => new RegExp(`^cg\\.${pid}\\.out\\.(\\d+)$`).exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]));
  if (!parts.length) throw new Error(`no callgrind dump in ${dir}`);
  return join(dir, parts[0][0]);
}

async function measureVariant(variant: Variant, options: Options): Promise<VariantInstructions> {
  // By build too (build/bench, or a copy of an earlier build measured alongside), so two runs never share dumps.
  const dir = join(DATA_DIR, 'callgrind', `${basename(resolve(HERE, '..'))}-${variant.id}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const { child, port } = await startUnderCallgrind(variant, dir, options.nice);
  const pid = child.pid!;
  const url = `http://127.0.0.1:${port}/bench`;
  const log = (line: string) => console.log(`${variant.id.padEnd(28)} ${line}`);
  try {
    const sent = lines(credentialsFile(variant));
    const [valid] = lines(validCredentialsFile(variant));
    const check = async (keys: string[], status: number) => {
      const count = await loadExactly(url, keys, 1, 1, status);
      if (count.unexpected) throw new Error(`${variant.id}: ${keys[0]} did not get ${status}`);
    };
    if (variant.guard !== 'noop-refuse') await check([valid], 200);
    if (!['none', 'noop', 'noop-check', 'noop-async', 'noop-refuse'].includes(variant.guard)) {
      await check([`${valid.slice(0, -2)}xx`], 401);
    }
    const expected = expectedStatus(variant);
    await check(sent, expected);
    const warm = Date.now();
    const warmup = await loadExactly(url, sent, options.warmup, options.connections, expected);
    log(`warm-up ${options.warmup} requests in ${((Date.now() - warm) / 1000).toFixed(0)} s`);
    const windows: VariantInstructions['windows'][number][] = [];
    let unexpected = warmup.unexpected;
    for (let w = 0; w < options.windows; w++) {
      if (w > 0) unexpected += (await loadExactly(url, sent, options.gap, options.connections, expected)).unexpected;
      const statementsBefore = await statements(port);
      const pgBefore = variant.db === 'postgres' ? await postgresBackendNs(pid) : new Map<number, number>();
      callgrindControl(pid, '-z');
      callgrindControl(pid, '-i', 'on');
      const count: LoadCount = await loadExactly(url, sent, options.window, options.connections, expected);
      callgrindControl(pid, '-i', 'off');
      callgrindControl(pid, '-d', `window-${w + 1}`);
      const pgAfter = variant.db === 'postgres' ? await postgresBackendNs(pid) : new Map<number, number>();
      let pgNs = 0;
      for (const [backend, ns] of pgAfter) pgNs += ns - (pgBefore.get(backend) ?? 0);
      const stmts = (await statements(port)) - statementsBefore;
      unexpected += count.unexpected;
      const dump = newestDump(dir, pid);
      const perRequest = dumpTotal(dump) / options.window;
      windows.push({
        perRequest,
        compilePerRequest: compileCost(functionCosts(dump, pid, ROOT, options.window)),
        statementsPerRequest: stmts / options.window,
        postgresUsPerRequest: variant.db === 'postgres' ? pgNs / 1e3 / options.window : undefined,
        dump,
      });
      const compiling = Math.round(windows[w].compilePerRequest).toLocaleString('en-US');
      log(
        `window ${w + 1}: ${Math.round(perRequest).toLocaleString('en-US')} instructions/request (${compiling} compiling)`,
      );
    }
    const best = windows.reduce((a, b) => (b.perRequest < a.perRequest ? b : a));
    const steady = Math.min(...windows.map((w) => w.perRequest - w.compilePerRequest));
    const top = PROFILED.includes(variant.id)
      ? functionCosts(best.dump, pid, ROOT, options.window)
          .filter((f) => / lib\//.test(f.name))
          .slice(0, options.top)
      : undefined;
    return {
      id: variant.id,
      label: variant.label,
      windows,
      best: best.perRequest,
      steady,
      unexpected,
      minutes: (Date.now() - started) / 60_000,
      top,
    };
  } finally {
    await stop(child);
  }
}

/**
 * `--render=<results.json>`: the tables of an earlier run again (to stdout), with the compiling share of each
 * window computed from its dump when the file predates it (the dumps and perf maps must still be there).
 */
function rerender(file: string): void {
  const results = JSON.parse(readFileSync(file, 'utf8')) as InstructionResults;
  const variants = results.variants.map((v) => {
    const windows = v.windows.map((w) => {
      if (w.compilePerRequest !== undefined) return w;
      const pid = Number(/cg\.(\d+)\.out/.exec(w.dump)![1]);
      const requests = Number(results.settings.window);
      return { ...w, compilePerRequest: compileCost(functionCosts(w.dump, pid, ROOT, requests)) };
    });
    return { ...v, windows, steady: Math.min(...windows.map((w) => w.perRequest - w.compilePerRequest)) };
  });
  const updated = { ...results, variants };
  writeFileSync(file, JSON.stringify(updated, null, 2) + '\n');
  console.log(renderInstructions(updated));
}

/** Measures the variants, `parallel` at a time, and writes the tables. */
export async function runInstructions(argv: string[]): Promise<void> {
  const render = argv.find((a) => a.startsWith('--render='));
  if (render) return rerender(render.slice('--render='.length));
  const options = parseOptions(argv);
  const ids = options.only ?? INSTRUCTION_VARIANTS;
  const variants = ids.map((id) => {
    const variant = VARIANTS.find((v) => v.id === id);
    if (!variant) throw new Error(`unknown variant ${id}`);
    return variant;
  });
  mkdirSync(DATA_DIR, { recursive: true });
  writeStaticCredentials();
  const seeded = new Set<string>();
  for (const v of variants) {
    if (v.db && v.size && !seeded.has(`${v.db}-${v.size}`)) await seedKeys(v.db, v.size);
    if (v.db && v.size) seeded.add(`${v.db}-${v.size}`);
  }
  const started = Date.now();
  console.log(
    `instructions: ${variants.length} variants, warm-up ${options.warmup}, ${options.windows} windows of ` +
      `${options.window} requests (gap ${options.gap}), ${options.connections} connections, ${options.parallel} at a time`,
  );
  const queue = [...variants];
  const results = new Map<string, VariantInstructions>();
  const worker = async () => {
    for (let variant = queue.shift(); variant; variant = queue.shift()) {
      results.set(variant.id, await measureVariant(variant, options));
    }
  };
  await Promise.all(Array.from({ length: options.parallel }, worker));
  const output: InstructionResults = {
    date: new Date().toISOString(),
    node: process.version,
    settings: { ...options, only: undefined },
    minutes: (Date.now() - started) / 60_000,
    variants: ids.map((id) => results.get(id)!),
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = JSON.stringify(output, null, 2) + '\n';
  const stamp = output.date.replace(/[:]/g, '-').replace(/\..*$/, '');
  writeFileSync(join(RESULTS_DIR, `instructions-${stamp}.json`), json);
  writeFileSync(join(RESULTS_DIR, 'instructions-latest.json'), json);
  const markdown = renderInstructions(output);
  writeFileSync(join(RESULTS_DIR, 'instructions-latest.md'), markdown);
  const readme = options.only ? '' : updateReadmeSection('instructions', markdown) ? ', bench/README.md' : '';
  console.log(`\n${markdown}\nwritten: bench/results/instructions-${stamp}.json, instructions-latest.md${readme}`);
}
