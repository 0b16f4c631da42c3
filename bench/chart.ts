/**
 * Renders a horizontal bar chart (SVG, no dependencies) of throughput as a
 * ratio to the bare route: `node build/bench/bench/chart.js [results.json]`
 * writes bench/results/latest.svg (default input: bench/results/latest.json).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR, VARIANTS } from './config.js';
import type { BenchResults } from './report.js';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const FLOOD = new Set(VARIANTS.filter((v) => v.flood).map((v) => v.id));

function colorOf(id: string): string {
  // Forged-key floods answer 401s: their throughput is not a valid key's, so they get their own colour.
  if (FLOOD.has(id)) return '#7c3aed';
  if (id === 'bare' || id.startsWith('noop')) return '#9ca3af';
  if (id.startsWith('lib-')) return '#2563eb';
  if (id.startsWith('jwt-')) return '#f59e0b';
  if (id.startsWith('v0-')) return '#93c5fd';
  return '#ef4444';
}

export function renderChart(results: BenchResults): string {
  const rowHeight = 28;
  const labelWidth = 330;
  const barWidth = 420;
  const top = 48;
  const height = top + results.variants.length * rowHeight + 36;
  const width = labelWidth + barWidth + 150;
  const max = Math.max(1, ...results.variants.map((v) => Math.max(v.ratioToBare || 0, v.ratio?.max || 0)));
  const x = (ratio: number) => labelWidth + (ratio / max) * barWidth;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600">Throughput relative to a bare Nest route (higher is better)</text>`,
    `<text x="12" y="40" fill="#6b7280" font-size="11">${escape(`${results.settings.loadGenerator}, ${results.settings.connections} connections, median of ${results.settings.rounds} interleaved rounds (line: min..max), ${results.machine.node}, ${results.date.slice(0, 10)}; purple: forged-key floods (401s)`)}</text>`,
  ];
  results.variants.forEach((v, i) => {
    const y = top + i * rowHeight;
    const ratio = v.ratioToBare || 0;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 18}" text-anchor="end">${escape(v.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 5}" width="${Math.max(1, x(ratio) - labelWidth).toFixed(1)}" height="${rowHeight - 10}" fill="${colorOf(v.id)}"/>`,
    );
    // Older result files carry no per-round spread.
    if (v.ratio && Number.isFinite(v.ratio.min)) {
      parts.push(
        `<line x1="${x(v.ratio.min).toFixed(1)}" y1="${y + 14}" x2="${x(v.ratio.max).toFixed(1)}" y2="${y + 14}" stroke="#111" stroke-width="1.5"/>`,
      );
    }
    const end = Math.max(x(ratio), v.ratio && Number.isFinite(v.ratio.max) ? x(v.ratio.max) : 0);
    parts.push(
      `<text x="${(end + 6).toFixed(1)}" y="${y + 18}">${ratio.toFixed(2)}x · ${Math.round(v.rps).toLocaleString('en-US')} req/s</text>`,
    );
  });
  const one = x(1).toFixed(1);
  parts.push(
    `<line x1="${one}" y1="${top}" x2="${one}" y2="${height - 30}" stroke="#111" stroke-dasharray="3,3"/>`,
    `<text x="${one}" y="${height - 14}" text-anchor="middle" fill="#6b7280" font-size="11">1.0x = bare route</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const input = process.argv[2] ?? join(RESULTS_DIR, 'latest.json');
  const results = JSON.parse(readFileSync(input, 'utf8')) as BenchResults;
  writeFileSync(join(RESULTS_DIR, 'latest.svg'), renderChart(results));
  console.log(`written: ${join(RESULTS_DIR, 'latest.svg')}`);
}
