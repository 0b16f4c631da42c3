import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ListenerHeartbeat } from '../../lib/cache/index.js';

/** A probe whose answers the test gives by hand. */
function probes() {
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const probe = () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
  return { pending, probe };
}

/** Lets the promise callbacks of settled probes run. */
const flush = () => Promise.resolve().then(() => undefined);

describe('ListenerHeartbeat (fake timers)', () => {
  beforeEach(() => void jest.useFakeTimers());
  afterEach(() => void jest.useRealTimers());

  it('probes intervalMs after each answer, and reports a silent connection exactly interval + timeout after the last answer', async () => {
    const { pending, probe } = probes();
    const missed: Error[] = [];
    const beat = new ListenerHeartbeat({ intervalMs: 500, timeoutMs: 200, probe, onMissed: (e) => missed.push(e) });
    beat.start();
    jest.advanceTimersByTime(499);
    expect(pending).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(pending).toHaveLength(1);
    // Answered after 150 ms: the next probe goes out 500 ms after that answer.
    jest.advanceTimersByTime(150);
    pending[0]!.resolve();
    await flush();
    jest.advanceTimersByTime(499);
    expect(pending).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(pending).toHaveLength(2);
    // The connection goes silent: no answer. The miss comes timeoutMs later, once.
    jest.advanceTimersByTime(199);
    expect(missed).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(missed.map((e) => e.message)).toEqual(['no answer to the listener heartbeat within 200 ms']);
    expect(beat.running).toBe(false);
    // Stopped: no more probes, and a late answer changes nothing.
    pending[1]!.resolve();
    await flush();
    jest.advanceTimersByTime(10_000);
    expect(pending).toHaveLength(2);
    expect(missed).toHaveLength(1);
  });

  it('reports a failed probe at once, with its reason', async () => {
    const { pending, probe } = probes();
    const missed: Error[] = [];
    new ListenerHeartbeat({ intervalMs: 100, timeoutMs: 1000, probe, onMissed: (e) => missed.push(e) }).start();
    jest.advanceTimersByTime(100);
    pending[0]!.reject(new Error('Connection terminated'));
    await flush();
    expect(missed.map((e) => e.message)).toEqual(['listener heartbeat failed: Connection terminated']);
    jest.advanceTimersByTime(5000);
    expect(missed).toHaveLength(1);
    expect(pending).toHaveLength(1);
  });

  it('a probe that throws synchronously is a miss too', async () => {
    const missed: Error[] = [];
    const probe = () => {
      throw new Error('Connection is closed.');
    };
    new ListenerHeartbeat({ intervalMs: 100, timeoutMs: 1000, probe, onMissed: (e) => missed.push(e) }).start();
    jest.advanceTimersByTime(100);
    await flush();
    expect(missed.map((e) => e.message)).toEqual(['listener heartbeat failed: Connection is closed.']);
  });

  it('stop() discards the probe in flight; start() begins a fresh round', async () => {
    const { pending, probe } = probes();
    const missed: Error[] = [];
    const beat = new ListenerHeartbeat({ intervalMs: 100, timeoutMs: 50, probe, onMissed: (e) => missed.push(e) });
    beat.start();
    jest.advanceTimersByTime(100);
    beat.stop();
    jest.advanceTimersByTime(1000);
    pending[0]!.reject(new Error('late'));
    await flush();
    expect(missed).toHaveLength(0);
    beat.start();
    jest.advanceTimersByTime(100);
    expect(pending).toHaveLength(2);
    pending[1]!.resolve();
    await flush();
    expect(beat.running).toBe(true);
    jest.advanceTimersByTime(150);
    expect(missed).toHaveLength(1);
  });
});
