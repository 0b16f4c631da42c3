/**
 * Reading callgrind dumps of a Node process: the instruction total of a dump,
 * and its functions by self and inclusive instructions, with V8's JIT frames
 * named from the `--perf-basic-prof` map (`/tmp/perf-<pid>.map`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Runs `callgrind_control <args> <pid>`; throws when it fails. */
export function callgrindControl(pid: number, ...args: string[]): void {
  const result = spawnSync('callgrind_control', [...args, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`callgrind_control ${args.join(' ')} failed: ${result.stderr}`);
}

/** The `totals:` line of a dump: instructions (Ir) counted in it. */
export function dumpTotal(file: string): number {
  const match = /^totals:\s+(\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`no totals in ${file}`);
  return Number(match[1]);
}

interface MapEntry {
  start: number;
  end: number;
  name: string;
}

/** The JIT code ranges V8 wrote for `pid` (later entries win for a reused address). */
function readPerfMap(pid: number): MapEntry[] {
  const file = `/tmp/perf-${pid}.map`;
  if (!existsSync(file)) return [];
  const byStart = new Map<number, MapEntry>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (!match) continue;
    const start = parseInt(match[1], 16);
    byStart.set(start, { start, end: start + parseInt(match[2], 16), name: match[3] });
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

function lookup(entries: MapEntry[], address: number): string | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid].start <= address) lo = mid + 1;
    else hi = mid - 1;
  }
  const entry = entries[hi];
  return entry && address < entry.end ? entry.name : undefined;
}

/** A readable frame name: JIT frames by their JS name and file (paths shortened), C++ without arguments. */
function displayName(raw: string, map: MapEntry[], root: string): string {
  const name = raw.replace(/'\d+$/, '');
  if (/^0x[0-9a-f]+$/.test(name)) {
    const jit = lookup(map, parseInt(name, 16));
    if (!jit) return '(JIT code, unnamed)';
    return jit
      .replace(/^(JS|LazyCompile|Function):[*~^+]?/, 'JS ')
      .replace(new RegExp(`file://${root}/build/[^/]+/`), '')
      .replace(/\S*\/node_modules\//, '')
      .replace(/:\d+$/, '');
  }
  return name.length > 90 && name.includes('(') ? name.slice(0, name.indexOf('(')) + '(...)' : name;
}

/** One function of a dump, instructions per request. */
export interface FunctionCost {
  readonly name: string;
  readonly self: number;
  readonly inclusive: number;
}

/**
 * The functions of one dump, named (JIT frames through the perf map) and merged
 * by name. Inclusive = self + calls out to other names, as callgrind counts
 * them (recursion through other functions can count twice; capped at the total).
 */
export function functionCosts(file: string, pid: number, root: string, requests: number): FunctionCost[] {
  const map = readPerfMap(pid);
  const names = new Map<string, string>();
  const self = new Map<string, number>();
  const out = new Map<string, number>();
  let total = 0;
  let current = '';
  let callee = '';
  let inCall = false;
  const resolve = (spec: string) => {
    const match = /^\((\d+)\)(?: (.*))?$/.exec(spec);
    if (!match) return displayName(spec, map, root);
    if (match[2] !== undefined) names.set(match[1], displayName(match[2], map, root));
    return names.get(match[1]) ?? '?';
  };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) current = resolve(line.slice(3));
    else if (line.startsWith('cfn=')) callee = resolve(line.slice(4));
    else if (line.startsWith('calls=')) inCall = true;
    else if (line.startsWith('totals:')) total = Number(line.slice(7).trim());
    else if (/^[0-9+*-]/.test(line)) {
      const cost = Number(line.split(' ')[1] ?? 0);
      if (inCall) {
        if (callee !== current) out.set(current, (out.get(current) ?? 0) + cost);
        inCall = false;
      } else self.set(current, (self.get(current) ?? 0) + cost);
    }
  }
  const all = new Set([...self.keys(), ...out.keys()]);
  return [...all]
    .map((name) => ({
      name,
      self: (self.get(name) ?? 0) / requests,
      inclusive: Math.min(total, (self.get(name) ?? 0) + (out.get(name) ?? 0)) / requests,
    }))
    .sort((a, b) => b.inclusive - a.inclusive);
}

/**
 * Instructions per request spent compiling (V8's `Runtime_Compile*` entries:
 * lazy bytecode compilation and TurboFan), which falls as the server warms up.
 */
export function compileCost(costs: readonly FunctionCost[]): number {
  return costs
    .filter((f) => f.name.startsWith('v8::internal::Runtime_Compile'))
    .reduce((sum, f) => sum + f.inclusive, 0);
}
