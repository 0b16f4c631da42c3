import type { Variant } from './config.js';

/** One measurement of one variant. */
export interface RoundResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time (user + system) over the run, divided by requests answered. */
  cpuUsPerRequest: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  /** rps / the bare route's rps in the same round. */
  ratioToBare?: number;
}

export interface VariantSummary {
  id: string;
  label: string;
  /** Medians over the rounds. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  /** Median of the per-round ratios to the bare route. */
  ratioToBare: number;
  non2xx: number;
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

/** Medians per variant; ratios are taken round by round against the bare route. */
export function summarize(variants: Variant[], rounds: Map<string, RoundResult[]>): VariantSummary[] {
  const bare = rounds.get('bare') ?? [];
  return variants.map((v) => {
    const own = rounds.get(v.id)!;
    own.forEach((r, i) => (r.ratioToBare = bare[i] ? r.rps / bare[i].rps : NaN));
    return {
      id: v.id,
      label: v.label,
      rps: median(own.map((r) => r.rps)),
      p50Ms: median(own.map((r) => r.p50Ms)),
      p99Ms: median(own.map((r) => r.p99Ms)),
      cpuUsPerRequest: median(own.map((r) => r.cpuUsPerRequest)),
      ratioToBare: median(own.map((r) => r.ratioToBare!)),
      non2xx: own.reduce((sum, r) => sum + r.non2xx + r.socketErrors, 0),
      rounds: own,
    };
  });
}

interface Target {
  readonly label: string;
  readonly variant: string;
  /** The variant compared with; the bare route when absent. */
  readonly against?: string;
  readonly atLeast?: number;
  /** For "flat with table size": |1 - ratio| at most this. */
  readonly within?: number;
}

const TARGETS: readonly Target[] = [
  { label: 'SQLite live >= 0.90x bare', variant: 'lib-sqlite-1k', atLeast: 0.9 },
  { label: 'PostgreSQL live >= 0.65x bare', variant: 'lib-postgres-1k', atLeast: 0.65 },
  { label: 'MariaDB live (measured, no target)', variant: 'lib-mariadb-1k' },
  { label: 'SQLite >= 1.1x JWT guard (KeyObject)', variant: 'lib-sqlite-1k', against: 'jwt-keyobject', atLeast: 1.1 },
  { label: 'SQLite 1M keys within 10% of 1k keys', variant: 'lib-sqlite-1m', against: 'lib-sqlite-1k', within: 0.1 },
  {
    label: 'PostgreSQL 1M keys within 10% of 1k keys',
    variant: 'lib-postgres-1m',
    against: 'lib-postgres-1k',
    within: 0.1,
  },
  { label: 'cache gain, SQLite (measured, no target)', variant: 'lib-sqlite-1k-cache', against: 'lib-sqlite-1k' },
  {
    label: 'cache gain, PostgreSQL (measured, no target)',
    variant: 'lib-postgres-1k-cache',
    against: 'lib-postgres-1k',
  },
  { label: 'any guard: no-op guard vs bare (the floor)', variant: 'noop-guard' },
];

/** Per-round ratio of two variants (same round), median over rounds. */
function sameRunRatio(a: VariantSummary, b: VariantSummary): number {
  return median(a.rounds.map((r, i) => r.rps / b.rounds[i].rps));
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export function renderMarkdown(results: BenchResults): string {
  const { machine, settings } = results;
  const lines = [
    `Run ${results.date} (${results.mode}): ${machine.cpus} x ${machine.model}, Node ${machine.node}, ${machine.platform}` +
      (machine.loadAverage
        ? `, load average ${machine.loadAverage.map((l) => l.toFixed(1)).join(' -> ')} (other work on the machine counts in it).`
        : '.'),
    `${settings.loadGenerator}, ${settings.connections} connections, ${settings.rounds} interleaved rounds of ${settings.durationSeconds} s per variant` +
      `${settings.pinned ? ', server pinned to CPU 0 and load generator to CPU 1' : ''}. Figures are medians over the rounds; ` +
      `"x bare" is the median of per-round ratios to the bare route.`,
    '',
    '| Variant | req/s | x bare | p50 ms | p99 ms | server CPU µs/req | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.variants.map(
      (v) =>
        `| ${v.label} | ${Math.round(v.rps).toLocaleString('en-US')} | ${fixed(v.ratioToBare, 2)} | ${fixed(v.p50Ms, 2)} | ${fixed(v.p99Ms, 2)} | ${fixed(v.cpuUsPerRequest, 1)} | ${v.non2xx} |`,
    ),
    '',
  ];
  const byId = new Map(results.variants.map((v) => [v.id, v]));
  const rows: string[] = [];
  for (const target of TARGETS) {
    const v = byId.get(target.variant);
    const against = target.against ? byId.get(target.against) : byId.get('bare');
    if (!v || !against) continue;
    const ratio = target.against ? sameRunRatio(v, against) : v.ratioToBare;
    const met =
      target.atLeast !== undefined
        ? ratio >= target.atLeast
          ? 'met'
          : 'not met'
        : target.within !== undefined
          ? Math.abs(1 - ratio) <= target.within
            ? 'met'
            : 'not met'
          : '-';
    rows.push(`| ${target.label} | ${fixed(ratio, 2)} | ${met} |`);
  }
  if (rows.length) lines.push('| Target | same-run ratio | |', '| --- | ---: | --- |', ...rows, '');
  return lines.join('\n');
}
