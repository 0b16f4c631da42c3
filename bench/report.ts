import { expectedStatus, type Variant } from './config.js';

/** One measurement of one variant. */
export interface RoundResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time (user + system) over the run, divided by requests answered. */
  cpuUsPerRequest: number;
  /** SQL statements the server sent over the run, divided by requests answered. */
  statementsPerRequest: number;
  requests: number;
  /** Responses with another status than the variant's expected one (200, or 401 for a forged-key flood). */
  unexpected: number;
  socketErrors: number;
  /** rps / the bare route's rps in the same round. */
  ratioToBare?: number;
}

/** A median over interleaved rounds with the smallest and largest round. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface VariantSummary {
  id: string;
  label: string;
  /** The status every request should get: 401 for a forged-key flood, else 200. */
  expectedStatus: number;
  /** Medians over the rounds. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  /** Server CPU µs per request over the rounds. */
  cpu: Spread;
  statementsPerRequest: number;
  /** Median of the per-round ratios to the bare route. */
  ratioToBare: number;
  /** The per-round ratios to the bare route. */
  ratio: Spread;
  /** Responses with an unexpected status plus socket errors, over every round. */
  errors: number;
  rounds: RoundResult[];
}

export interface BenchResults {
  date: string;
  mode: 'quick' | 'full';
  machine: { cpus: number; model: string; node: string; platform: string; loadAverage?: number[] };
  settings: { rounds: number; durationSeconds: number; connections: number; loadGenerator: string; pinned: boolean };
  variants: VariantSummary[];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median, min and max of per-round values (NaN when there are none). */
export function spread(values: number[]): Spread {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN };
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite) };
}

/** Medians per variant; ratios are taken round by round against the bare route. */
export function summarize(variants: Variant[], rounds: Map<string, RoundResult[]>): VariantSummary[] {
  const bare = rounds.get('bare') ?? [];
  return variants.map((v) => {
    const own = rounds.get(v.id)!;
    own.forEach((r, i) => (r.ratioToBare = bare[i] ? r.rps / bare[i].rps : NaN));
    const ratio = spread(own.map((r) => r.ratioToBare!));
    const cpu = spread(own.map((r) => r.cpuUsPerRequest));
    return {
      id: v.id,
      label: v.label,
      expectedStatus: expectedStatus(v),
      rps: median(own.map((r) => r.rps)),
      p50Ms: median(own.map((r) => r.p50Ms)),
      p99Ms: median(own.map((r) => r.p99Ms)),
      cpuUsPerRequest: cpu.median,
      cpu,
      statementsPerRequest: median(own.map((r) => r.statementsPerRequest)),
      ratioToBare: ratio.median,
      ratio,
      errors: own.reduce((sum, r) => sum + r.unexpected + r.socketErrors, 0),
      rounds: own,
    };
  });
}

/** One target of the issue, checked against a pair of variants of the same run. */
interface Target {
  readonly label: string;
  readonly variant: string;
  /** The variant compared with (same rounds); the bare route when absent. */
  readonly against?: string;
  /**
   * What decides it: req/s ratio to `against` at least `bound`; CPU µs per request
   * ratio to `against` at most `bound`; or statements per request at most `bound`.
   * Without `bound`: measured, no target.
   */
  readonly measure: 'throughput' | 'cpu' | 'statements';
  readonly bound?: number;
  /** Why the row may be missing from a run. */
  readonly fullOnly?: boolean;
}

/** The targets of issue 13 ("Performance and scale"), in the order the issue states them. */
export const TARGETS: readonly Target[] = [
  { label: 'SQLite live >= 0.90x bare', variant: 'lib-sqlite-1k', measure: 'throughput', bound: 0.9 },
  {
    label: 'SQLite live, batched lookups, >= 0.90x bare',
    variant: 'lib-sqlite-1k-batched',
    measure: 'throughput',
    bound: 0.9,
  },
  {
    label: 'SQLite live >= 1.1x JWT guard (KeyObject)',
    variant: 'lib-sqlite-1k',
    against: 'jwt-keyobject',
    measure: 'throughput',
    bound: 1.1,
  },
  { label: 'PostgreSQL live >= 0.90x bare', variant: 'lib-postgres-1k', measure: 'throughput', bound: 0.9 },
  {
    label: 'PostgreSQL live >= 1.05x JWT guard (KeyObject)',
    variant: 'lib-postgres-1k',
    against: 'jwt-keyobject',
    measure: 'throughput',
    bound: 1.05,
  },
  {
    label: 'MariaDB within 10% of PostgreSQL',
    variant: 'lib-mariadb-1k',
    against: 'lib-postgres-1k',
    measure: 'throughput',
    bound: 0.9,
  },
  { label: 'SQLite, cache on, >= 0.95x bare', variant: 'lib-sqlite-1k-cache', measure: 'throughput', bound: 0.95 },
  {
    label: 'PostgreSQL, cache on, >= 0.95x bare',
    variant: 'lib-postgres-1k-cache',
    measure: 'throughput',
    bound: 0.95,
  },
  {
    label: 'SQLite 1M keys within 10% of 1k keys',
    variant: 'lib-sqlite-1m',
    against: 'lib-sqlite-1k',
    measure: 'throughput',
    bound: 0.9,
    fullOnly: true,
  },
  {
    label: 'PostgreSQL 1M keys within 10% of 1k keys',
    variant: 'lib-postgres-1m',
    against: 'lib-postgres-1k',
    measure: 'throughput',
    bound: 0.9,
    fullOnly: true,
  },
  {
    label: 'MariaDB 1M keys within 10% of 1k keys',
    variant: 'lib-mariadb-1m',
    against: 'lib-mariadb-1k',
    measure: 'throughput',
    bound: 0.9,
    fullOnly: true,
  },
  {
    label: 'SQLite forged-key flood: no more CPU per request than a valid key',
    variant: 'lib-sqlite-1k-forged',
    against: 'lib-sqlite-1k',
    measure: 'cpu',
    bound: 1,
  },
  {
    label: 'PostgreSQL forged-key flood: no more CPU per request than a valid key',
    variant: 'lib-postgres-1k-forged',
    against: 'lib-postgres-1k',
    measure: 'cpu',
    bound: 1,
  },
  {
    label: 'SQLite forged-key flood, keyed tag: no database work',
    variant: 'lib-sqlite-1k-forged-tag',
    measure: 'statements',
    bound: 0,
  },
  {
    label: 'PostgreSQL forged-key flood, keyed tag: no database work',
    variant: 'lib-postgres-1k-forged-tag',
    measure: 'statements',
    bound: 0,
    fullOnly: true,
  },
  {
    label: 'SQLite forged-key flood, keyed tag, vs a valid key (measured, no target)',
    variant: 'lib-sqlite-1k-forged-tag',
    against: 'lib-sqlite-1k',
    measure: 'cpu',
  },
  {
    label: 'keyed tag on the valid path, SQLite (measured, no target)',
    variant: 'lib-sqlite-1k-tag',
    against: 'lib-sqlite-1k',
    measure: 'throughput',
  },
  {
    label: 'one statement per verified request, SQLite (measured)',
    variant: 'lib-sqlite-1k',
    measure: 'statements',
  },
  {
    label: 'one statement per verified request, PostgreSQL (batched: < 1)',
    variant: 'lib-postgres-1k',
    measure: 'statements',
  },
  { label: 'any guard: no-op guard vs bare (the floor)', variant: 'noop-guard', measure: 'throughput' },
];

/** Per-round ratios of one figure of two variants measured in the same rounds. */
function pairedRatio(a: VariantSummary, b: VariantSummary, figure: (r: RoundResult) => number): Spread {
  return spread(a.rounds.map((r, i) => (b.rounds[i] ? figure(r) / figure(b.rounds[i]) : NaN)));
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const ranged = (s: Spread, digits: number) =>
  `${fixed(s.median, digits)} (${fixed(s.min, digits)}..${fixed(s.max, digits)})`;
const percent = (n: number) => `${n >= 0 ? '+' : ''}${Math.round(n * 100)}%`;

/** One row of the targets table: the same-run figures and whether the target is met or by how much it is missed. */
function targetRow(target: Target, byId: Map<string, VariantSummary>, mode: BenchResults['mode']): string {
  const v = byId.get(target.variant);
  const against = byId.get(target.against ?? 'bare');
  const pair = `\`${target.variant}\` vs \`${target.against ?? 'bare'}\``;
  if (!v || !against) {
    const why = target.fullOnly && mode === 'quick' ? 'not run (full mode only)' : 'not run';
    return `| ${target.label} | ${pair} | - | - | ${why} |`;
  }
  const throughput = pairedRatio(v, against, (r) => r.rps);
  const cpu = pairedRatio(v, against, (r) => r.cpuUsPerRequest);
  const cpuCell = `${fixed(v.cpuUsPerRequest, 1)} vs ${fixed(against.cpuUsPerRequest, 1)} µs (${ranged(cpu, 2)})`;
  let status = '-';
  if (target.bound !== undefined) {
    if (target.measure === 'throughput') {
      status =
        throughput.median >= target.bound
          ? 'met'
          : `missed by ${fixed(target.bound - throughput.median, 2)} (needs ${percent(target.bound / throughput.median - 1)} req/s)`;
    } else if (target.measure === 'cpu') {
      status =
        cpu.median <= target.bound ? 'met' : `missed by ${percent(cpu.median / target.bound - 1)} CPU per request`;
    } else {
      status =
        v.statementsPerRequest <= target.bound
          ? 'met'
          : `missed: ${fixed(v.statementsPerRequest, 3)} statements per request`;
    }
  }
  const statements = target.measure === 'statements' ? ` · ${fixed(v.statementsPerRequest, 3)} stmt/req` : '';
  return `| ${target.label} | ${pair} | ${ranged(throughput, 2)}${statements} | ${cpuCell} | ${status} |`;
}

/** The targets table alone (also pasted into bench/README.md). */
export function renderTargets(results: BenchResults): string {
  const byId = new Map(results.variants.map((v) => [v.id, v]));
  return [
    '| Target | compared | req/s ratio, median (min..max) | server CPU µs/req, ratio (min..max) | status |',
    '| --- | --- | ---: | ---: | --- |',
    ...TARGETS.map((t) => targetRow(t, byId, results.mode)),
    '',
  ].join('\n');
}

export function renderMarkdown(results: BenchResults): string {
  const { machine, settings } = results;
  const lines = [
    `Run ${results.date} (${results.mode}): ${machine.cpus} x ${machine.model}, Node ${machine.node}, ${machine.platform}` +
      (machine.loadAverage
        ? `, load average ${machine.loadAverage.map((l) => l.toFixed(1)).join(' -> ')} (other work on the machine counts in it).`
        : '.'),
    `${settings.loadGenerator}, ${settings.connections} connections, ${settings.rounds} interleaved rounds of ${settings.durationSeconds} s per variant` +
      `${settings.pinned ? ', server pinned to CPU 0 and load generator to CPU 1' : ''}. Figures are medians over the rounds ` +
      `(min..max in brackets); ratios are taken round by round, between variants measured in the same round. ` +
      `Flood variants answer 401 to every request (their expected status); "errors" counts responses with another status.`,
    '',
    '| Variant | req/s | x bare (min..max) | p50 ms | p99 ms | server CPU µs/req (min..max) | stmt/req | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.variants.map(
      (v) =>
        `| ${v.label} | ${Math.round(v.rps).toLocaleString('en-US')} | ${ranged(v.ratio, 2)} | ${fixed(v.p50Ms, 2)} | ` +
        `${fixed(v.p99Ms, 2)} | ${ranged(v.cpu, 1)} | ${fixed(v.statementsPerRequest, 2)} | ${v.errors} |`,
    ),
    '',
    renderTargets(results),
  ];
  return lines.join('\n');
}
