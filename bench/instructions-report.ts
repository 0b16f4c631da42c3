/** The tables of the instructions mode (`npm run bench -- --instructions`). */
import type { FunctionCost } from './callgrind.js';

/** One variant's windows, its figure (the smallest window) and, for the library's main variants, its top functions. */
export interface VariantInstructions {
  readonly id: string;
  readonly label: string;
  readonly windows: readonly {
    readonly perRequest: number;
    /** Of which V8 spent compiling (lazy compilation, TurboFan): falls as the server warms up. */
    readonly compilePerRequest: number;
    readonly statementsPerRequest: number;
    /** CPU of the PostgreSQL backends serving the bench database, µs per request (PostgreSQL variants). */
    readonly postgresUsPerRequest?: number;
    readonly dump: string;
  }[];
  readonly best: number;
  /** The smallest window without its compilation: converges long before the whole figure does. */
  readonly steady: number;
  readonly unexpected: number;
  readonly minutes: number;
  readonly top?: readonly FunctionCost[];
}

export interface InstructionResults {
  readonly date: string;
  readonly node: string;
  readonly settings: Record<string, unknown>;
  readonly minutes: number;
  readonly variants: readonly VariantInstructions[];
}

/** The floor every ratio is taken against. */
const FLOOR = 'noop-check-guard';

/** A refusing no-op guard: the floor of the forged-key floods (every answer a 401), when it was measured. */
const REFUSE_FLOOR = 'noop-refuse-guard';

/**
 * The issue's targets: instructions per request at most `limit` x the no-op guard, judged on the windows less
 * what V8 spent compiling in them (which moves a window by up to 270k while TurboFan works, in every variant).
 */
const TARGETS: readonly { id: string; limit: number; what: string }[] = [
  { id: 'lib-sqlite-1k', limit: 1.06, what: 'live check, SQLite' },
  { id: 'lib-postgres-1k', limit: 1.06, what: 'live check, PostgreSQL (app side)' },
  { id: 'lib-sqlite-1k-cache', limit: 1.02, what: 'cache, SQLite' },
  { id: 'lib-postgres-1k-cache', limit: 1.02, what: 'cache, PostgreSQL' },
  { id: 'lib-sqlite-1k-forged-tag', limit: 1.02, what: 'forged-key flood, keyed tag, SQLite' },
  { id: 'lib-postgres-1k-forged-tag', limit: 1.02, what: 'forged-key flood, keyed tag, PostgreSQL' },
];

const k = (n: number) => `${(n / 1000).toFixed(1)}k`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function renderInstructions(results: InstructionResults): string {
  const s = results.settings as { warmup: number; windows: number; window: number; gap: number; connections: number };
  const byId = new Map(results.variants.map((v) => [v.id, v]));
  const floor = byId.get(FLOOR)?.best;
  const steadyFloor = byId.get(FLOOR)?.steady;
  const bare = byId.get('bare')?.best;
  const out: string[] = [
    `Run ${results.date}: Node ${results.node}, valgrind callgrind, \`node --predictable --perf-basic-prof\`, ` +
      `${results.minutes.toFixed(1)} min in all. Each variant alone in its server, ${fmt(s.warmup)} warm-up requests ` +
      `with instrumentation off, then ${s.windows} windows of ${fmt(s.window)} requests (${fmt(s.gap)} uncounted ` +
      `requests between windows), ${s.connections} keep-alive connections from a client outside valgrind. ` +
      `Figure: the smallest window, instructions per request (everything the server process executes). ` +
      `Ratios against \`${FLOOR}\` (reads the header, compares its scheme, reads the route's scopes). ` +
      `"w/o compiling": the same windows less what V8 spent compiling in them (\`Runtime_Compile*\`, inclusive), ` +
      `which settles long before the whole figure does while TurboFan is still at work.`,
    '',
    '| Variant | windows: instructions/request (of which compiling) | smallest | x no-op guard | x bare | ' +
      'smallest w/o compiling | x no-op guard w/o compiling | stmt/req | PostgreSQL backend µs/req | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const v of results.variants) {
    const pgUs = v.windows.map((w) => w.postgresUsPerRequest).filter((x): x is number => x !== undefined);
    const stmt = Math.min(...v.windows.map((w) => w.statementsPerRequest));
    out.push(
      `| ${v.label} (\`${v.id}\`) | ${v.windows.map((w) => `${k(w.perRequest)} (${k(w.compilePerRequest)})`).join(', ')} | ` +
        `${fmt(v.best)} | ${floor ? (v.best / floor).toFixed(3) : '-'} | ${bare ? (v.best / bare).toFixed(3) : '-'} | ` +
        `${fmt(v.steady)} | ${steadyFloor ? (v.steady / steadyFloor).toFixed(3) : '-'} | ${stmt.toFixed(3)} | ${pgUs.length ? Math.min(...pgUs).toFixed(1) : '-'} | ${v.unexpected} |`,
    );
  }
  out.push(
    '',
    '| Target (judged w/o compiling) | x no-op guard | w/o compiling | status |',
    '| --- | ---: | ---: | --- |',
  );
  const jwt = byId.get('jwt-keyobject')?.best;
  const refuse = byId.get(REFUSE_FLOOR);
  for (const target of TARGETS) {
    const v = byId.get(target.id);
    // A flood's answers are 401s: against the refusing no-op guard when it ran, else the passing one.
    const base = target.id.includes('forged') && refuse ? refuse : byId.get(FLOOR);
    if (!v || !base) {
      out.push(`| ${target.what} <= ${target.limit.toFixed(2)}x | - | - | not measured |`);
      continue;
    }
    const steady = v.steady / base.steady;
    const against = base.id === FLOOR ? '' : ` (x \`${base.id}\`)`;
    const status =
      steady <= target.limit ? 'met' : `missed by ${fmt(v.steady - base.steady * target.limit)} instructions/request`;
    out.push(
      `| ${target.what} <= ${target.limit.toFixed(2)}x${against} | ${(v.best / base.best).toFixed(3)} | ` +
        `${steady.toFixed(3)} | ${status} |`,
    );
  }
  const jwtSteady = byId.get('jwt-keyobject')?.steady;
  if (jwt && floor && jwtSteady && steadyFloor)
    out.push(
      `| (reference) @nestjs/jwt guard, KeyObject secret | ${(jwt / floor).toFixed(3)} | ` +
        `${(jwtSteady / steadyFloor).toFixed(3)} | - |`,
    );
  // Feature modules loaded and idle against the core alone, same run: their cost to a verified request.
  const core = byId.get('lib-sqlite-1k');
  const idle = byId.get('lib-sqlite-1k-features');
  if (core && idle)
    out.push(
      '',
      `Feature modules loaded and idle (import, owner policies, alerts): ${(idle.best / core.best).toFixed(3)}x the ` +
        `core alone (${(idle.steady / core.steady).toFixed(3)}x w/o compiling), ` +
        `${Math.min(...idle.windows.map((w) => w.statementsPerRequest)).toFixed(3)} statements per request.`,
    );
  for (const v of results.variants) {
    if (!v.top?.length) continue;
    out.push(
      '',
      `Top library functions, \`${v.id}\` (smallest window; JIT frames named from the perf map, inlined callees count in their caller):`,
      '',
      '| function | inclusive / request | self / request |',
      '| --- | ---: | ---: |',
      ...v.top.map((f) => `| \`${f.name}\` | ${fmt(f.inclusive)} | ${fmt(f.self)} |`),
    );
  }
  return out.join('\n') + '\n';
}
