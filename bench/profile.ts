/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by
 * function and by where the code lives (this library, TypeORM, the DB driver,
 * Nest, Express, Node internals...). `node profile.js <file.cpuprofile>`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Where a frame's code lives. */
function areaOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)' || name === '(program)') return name;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.includes('/build/bench/lib/')) return 'nestjs-opaque-keys (lib)';
  if (url.includes('/build/bench/bench/')) return 'bench app';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url ? 'other' : 'native / V8';
}

/** Self time by area and by function; in µs per request when `requests` is given. */
export function summarizeProfile(file: string, requests?: number, top = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    startTime: number;
    endTime: number;
  };
  const usPerSample = (profile.endTime - profile.startTime) / profile.samples.length;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<number, number>();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const frames = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  for (const [id, hits] of counts) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const area = areaOf(url, functionName);
    if (area === '(idle)') continue;
    busy += hits;
    const name =
      `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*node_modules\//, '').replace(/^.*\/build\/bench\//, '')}:${lineNumber + 1}` : ''}`.trim();
    frames.set(name, (frames.get(name) ?? 0) + hits);
    areas.set(area, (areas.get(area) ?? 0) + hits);
  }
  const pct = (n: number) => ((100 * n) / busy).toFixed(1);
  const perRequest = (n: number) => (requests ? ` | ${((n * usPerSample) / requests).toFixed(1)}` : '');
  const unit = requests ? ' | µs/request' : '';
  const rule = requests ? ' | ---:' : '';
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return [
    `Busy (non-idle) CPU${requests ? `: ${((busy * usPerSample) / requests).toFixed(1)} µs per request` : ''}. Self time by area:`,
    '',
    `| area | %${unit} |`,
    `| --- | ---:${rule} |`,
    ...sorted(areas)
      .slice(0, 15)
      .map(([area, n]) => `| ${area} | ${pct(n)}${perRequest(n)} |`),
    '',
    `Top ${top} functions by self time:`,
    '',
    `| function | %${unit} |`,
    `| --- | ---:${rule} |`,
    ...sorted(frames)
      .slice(0, top)
      .map(([name, n]) => `| \`${name}\` | ${pct(n)}${perRequest(n)} |`),
    '',
  ].join('\n');
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  console.log(summarizeProfile(process.argv[2]));
}
