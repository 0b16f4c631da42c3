/**
 * `npm run bench [-- --quick] [-- --baseline] [-- --only=a,b] [-- --rounds=N --duration=S --connections=C]`
 * `npm run bench -- --profile=<variant> [--duration=S]`
 *
 * Starts every variant as its own Nest app process (pinned to CPU 0 when
 * `taskset` exists), then measures them in interleaved rounds (A B C, C B A,
 * ...) with wrk (or autocannon) pinned to CPU 1. Writes
 * bench/results/<date>.json, latest.md and latest.svg.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderChart } from './chart.js';
import {
  DATA_DIR,
  HERE,
  RESULTS_DIR,
  ROOT,
  VARIANTS,
  credentialsFile,
  expectedStatus,
  updateReadmeSection,
  validCredentialsFile,
  type Variant,
} from './config.js';
import { summarizeProfile } from './profile.js';
import { renderMarkdown, summarize, type BenchResults, type RoundResult } from './report.js';
import { seedKeys, writeStaticCredentials } from './seed.js';

interface Args {
  quick: boolean;
  baseline: boolean;
  only?: string[];
  rounds: number;
  duration: number;
  warmup: number;
  connections: number;
  profile?: string;
}

function parseArgs(argv: string[]): Args {
  const flag = (name: string) => argv.includes(`--${name}`);
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const quick = flag('quick');
  return {
    quick,
    baseline: flag('baseline'),
    only: value('only')?.split(','),
    rounds: Number(value('rounds') ?? (quick ? 4 : 8)),
    duration: Number(value('duration') ?? (quick ? 3 : 6)),
    warmup: Number(value('warmup') ?? (quick ? 2 : 3)),
    connections: Number(value('connections') ?? 16),
    profile: value('profile'),
  };
}

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length >= 2;
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;

/** `command args` pinned to one CPU when possible. */
function pinned(cpu: number, command: string, args: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

interface Server {
  readonly variant: Variant;
  readonly port: number;
  readonly child: ChildProcess;
}

async function startServer(variant: Variant): Promise<Server> {
  const [command, args] = pinned(0, process.execPath, [join(HERE, 'server.js'), variant.id, '0']);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${variant.id} did not start in 60 s`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = /READY (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${variant.id} exited with ${code} before it was ready`)));
  });
  return { variant, port, child };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/**
 * Checks that the variant answers a valid credential with 200 and a tampered one with 401, and that the
 * credentials its load generator sends get the variant's expected status (401 for a forged-key flood).
 */
async function sanityCheck(server: Server): Promise<void> {
  const { variant } = server;
  const [good] = readFileSync(validCredentialsFile(variant), 'utf8').split('\n');
  const url = `http://127.0.0.1:${server.port}/bench`;
  const status = async (credential: string) =>
    (await fetch(url, { headers: { authorization: `Bearer ${credential}` } })).status;
  const ok = await status(good);
  // The refusing no-op guard answers every request with 401.
  if (variant.guard === 'noop-refuse' && ok === 401) return;
  if (ok !== 200) throw new Error(`${variant.id}: a valid credential got ${ok}`);
  if (['none', 'noop', 'noop-check', 'noop-async'].includes(variant.guard)) return; // they check no credential
  const bad = await status(`${good.slice(0, -2)}xx`);
  if (bad !== 401) throw new Error(`${variant.id}: a tampered credential got ${bad}`);
  const [sent] = readFileSync(credentialsFile(variant), 'utf8').split('\n');
  const got = await status(sent);
  if (got !== expectedStatus(variant)) {
    throw new Error(`${variant.id}: its load credentials got ${got}, expected ${expectedStatus(variant)}`);
  }
}

/** The server's CPU time so far (µs) and the SQL statements it has sent. */
async function serverStats(server: Server): Promise<{ cpuUs: number; statements: number }> {
  const response = await fetch(`http://127.0.0.1:${server.port}/__stats`);
  const { cpu, statements } = (await response.json()) as {
    cpu: { user: number; system: number };
    statements: number;
  };
  return { cpuUs: cpu.user + cpu.system, statements };
}

interface LoadSummary {
  requests: number;
  durationUs: number;
  /** Responses with another status than the variant's expected one. */
  unexpected: number;
  socketErrors: number;
  p50Us: number;
  p99Us: number;
}

/** Runs the load generator (pinned to CPU 1) against one server for `seconds`. */
function load(server: Server, seconds: number, connections: number): Promise<LoadSummary> {
  const url = `http://127.0.0.1:${server.port}/bench`;
  const file = credentialsFile(server.variant);
  const expected = String(expectedStatus(server.variant));
  const [command, args] = hasWrk
    ? pinned(1, 'wrk', [
        '-t1',
        `-c${connections}`,
        `-d${seconds}s`,
        '--latency',
        '-s',
        join(ROOT, 'bench', 'wrk.lua'),
        url,
        '--',
        file,
        expected,
      ])
    : pinned(1, process.execPath, [
        join(HERE, 'load-autocannon.js'),
        url,
        file,
        String(seconds),
        String(connections),
        expected,
      ]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCHJSON '));
      if (code !== 0 || !line) reject(new Error(`load generator failed (${code}): ${out}`));
      else resolve(JSON.parse(line.slice('BENCHJSON '.length)));
    });
  });
}

async function measure(server: Server, seconds: number, connections: number): Promise<RoundResult> {
  const before = await serverStats(server);
  const summary = await load(server, seconds, connections);
  const after = await serverStats(server);
  return {
    rps: summary.requests / (summary.durationUs / 1e6),
    p50Ms: summary.p50Us / 1000,
    p99Ms: summary.p99Us / 1000,
    cpuUsPerRequest: (after.cpuUs - before.cpuUs) / summary.requests,
    // The stats request itself sends none; a loaded request in flight at the end may count on either side.
    statementsPerRequest: (after.statements - before.statements) / summary.requests,
    requests: summary.requests,
    unexpected: summary.unexpected,
    socketErrors: summary.socketErrors,
  };
}

function chosenVariants(args: Args): Variant[] {
  return VARIANTS.filter((v) => {
    if (args.only) return v.id === 'bare' || args.only.includes(v.id);
    if (v.baselineOnly && !args.baseline) return false;
    return !(v.fullOnly && args.quick);
  });
}

async function prepareData(variants: Variant[]): Promise<void> {
  mkdirSync(DATA_DIR, { recursive: true });
  writeStaticCredentials();
  const seen = new Set<string>();
  for (const v of variants) {
    // A flood variant's server needs its table too (its sanity check sends a valid key).
    if (!v.db || !v.size || seen.has(`${v.db}-${v.size}`)) continue;
    seen.add(`${v.db}-${v.size}`);
    await seedKeys(v.db, v.size);
  }
}

/** Profiles one variant under load (the loaded window only) and summarises where its CPU time goes. */
async function profile(args: Args): Promise<void> {
  const variant = VARIANTS.find((v) => v.id === args.profile);
  if (!variant) throw new Error(`unknown variant ${args.profile}`);
  await prepareData([variant]);
  const dir = join(DATA_DIR, 'profiles');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${variant.id}.cpuprofile`);
  const server = await startServer(variant);
  let result: RoundResult;
  try {
    await sanityCheck(server);
    await load(server, args.warmup, args.connections);
    await fetch(`http://127.0.0.1:${server.port}/__stats/profile/start`);
    result = await measure(server, args.duration, args.connections);
    await fetch(`http://127.0.0.1:${server.port}/__stats/profile/stop?file=${encodeURIComponent(file)}`);
  } finally {
    await stopServer(server);
  }
  const header =
    `${Math.round(result.rps)} req/s under the profiler, ${result.cpuUsPerRequest.toFixed(1)} µs server CPU per request ` +
    `(${args.duration} s, ${args.connections} connections).`;
  const summary = summarizeProfile(file, result.requests);
  const out = join(RESULTS_DIR, `profile-${variant.id}.md`);
  writeFileSync(out, `# CPU profile: ${variant.label}\n\n${header}\n\n${summary}`);
  console.log(`${header}\n\n${summary}\nprofile: ${file}\nsummary: ${out}`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--instructions')) {
    const { runInstructions } = await import('./instructions.js');
    return runInstructions(process.argv.slice(2));
  }
  const args = parseArgs(process.argv.slice(2));
  if (args.profile) return profile(args);
  const variants = chosenVariants(args);
  console.log(
    `bench: ${variants.length} variants x ${args.rounds} rounds x ${args.duration} s, ${args.connections} connections, ` +
      `${hasWrk ? 'wrk' : 'autocannon'}, ${hasTaskset ? 'server on CPU 0, load on CPU 1' : 'unpinned'}`,
  );
  await prepareData(variants);
  const loadBefore = loadavg()[0];
  const servers: Server[] = [];
  try {
    for (const v of variants) servers.push(await startServer(v));
    for (const s of servers) await sanityCheck(s);
    for (const s of servers) await load(s, args.warmup, args.connections);
    const rounds = new Map<string, RoundResult[]>(variants.map((v) => [v.id, []]));
    for (let round = 0; round < args.rounds; round++) {
      // A B C, then C B A: drift on a shared machine hits every variant alike.
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        const result = await measure(server, args.duration, args.connections);
        rounds.get(server.variant.id)!.push(result);
        console.log(
          `round ${round + 1}/${args.rounds} ${server.variant.id.padEnd(26)} ${Math.round(result.rps).toString().padStart(6)} req/s` +
            `  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ${result.cpuUsPerRequest.toFixed(1)} µs CPU/req` +
            `  ${result.statementsPerRequest.toFixed(2)} stmt/req` +
            (result.unexpected || result.socketErrors
              ? `  unexpected status ${result.unexpected} errors ${result.socketErrors}`
              : ''),
        );
      }
    }
    const results: BenchResults = {
      date: new Date().toISOString(),
      mode: args.quick ? 'quick' : 'full',
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        // The 1-minute load average before and after: above ~2 on 2 CPUs, other work shared the machine.
        loadAverage: [loadBefore, loadavg()[0]],
      },
      settings: {
        rounds: args.rounds,
        durationSeconds: args.duration,
        connections: args.connections,
        loadGenerator: hasWrk ? 'wrk -t1' : 'autocannon',
        pinned: hasTaskset,
      },
      variants: summarize(variants, rounds),
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = results.date.replace(/[:]/g, '-').replace(/\..*$/, '');
    writeFileSync(join(RESULTS_DIR, `${stamp}.json`), JSON.stringify(results, null, 2) + '\n');
    writeFileSync(join(RESULTS_DIR, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
    const markdown = renderMarkdown(results);
    writeFileSync(join(RESULTS_DIR, 'latest.md'), markdown);
    writeFileSync(join(RESULTS_DIR, 'latest.svg'), renderChart(results));
    // A run of the whole set (not --only) is the one bench/README.md shows.
    const readme = args.only ? '' : updateReadmeSection('latest', markdown) ? ', bench/README.md' : '';
    console.log(`\n${markdown}\nwritten: bench/results/${stamp}.json, latest.md, latest.svg${readme}`);
  } finally {
    await Promise.all(servers.map(stopServer));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
