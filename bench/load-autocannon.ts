/**
 * The load generator when `wrk` is not installed:
 * `node load-autocannon.js <url> <credentials-file> <seconds> <connections>`.
 * Prints the same `BENCHJSON {...}` line as bench/wrk.lua.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, file, seconds, connections] = process.argv.slice(2);
const credentials = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const result = await autocannon({
  url,
  duration: Number(seconds),
  connections: Number(connections),
  requests: credentials.map((key) => ({ method: 'GET', headers: { authorization: `Bearer ${key}` } })),
});
const summary = {
  requests: result.requests.total,
  durationUs: Math.round(result.duration * 1e6),
  non2xx: result.non2xx,
  socketErrors: result.errors + result.timeouts,
  p50Us: Math.round(result.latency.p50 * 1000),
  p99Us: Math.round(result.latency.p99 * 1000),
  meanUs: result.latency.average * 1000,
};
process.stdout.write(`BENCHJSON ${JSON.stringify(summary)}\n`);
