/**
 * The load generator when `wrk` is not installed:
 * `node load-autocannon.js <url> <credentials-file> <seconds> <connections> [expected-status]`.
 * Prints the same `BENCHJSON {...}` line as bench/wrk.lua; `unexpected` counts
 * responses with another status than `expected-status` (default 200).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, file, seconds, connections, expected = '200'] = process.argv.slice(2);
const credentials = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const result = await autocannon({
  url,
  duration: Number(seconds),
  connections: Number(connections),
  requests: credentials.map((key) => ({ method: 'GET', headers: { authorization: `Bearer ${key}` } })),
});
// Responses by status code (autocannon 7+): { '200': { count }, '401': { count } }.
const byStatus = (result.statusCodeStats ?? {}) as Record<string, { count: number }>;
const answered = Object.values(byStatus).reduce((sum, s) => sum + s.count, 0);
const summary = {
  requests: result.requests.total,
  durationUs: Math.round(result.duration * 1e6),
  unexpected: answered - (byStatus[expected]?.count ?? 0),
  socketErrors: result.errors + result.timeouts,
  p50Us: Math.round(result.latency.p50 * 1000),
  p99Us: Math.round(result.latency.p99 * 1000),
  meanUs: result.latency.average * 1000,
};
process.stdout.write(`BENCHJSON ${JSON.stringify(summary)}\n`);
