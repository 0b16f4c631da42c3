import { describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { parseLsn, ReplicaLagGate } from '../../lib/storage/index.js';

/** A DataSource stand-in whose primary and replica answer the gate's two statements from these functions. */
function fakeDataSource(primaryLsn: () => string, replica: () => { standby: boolean; lsn: string | null }): DataSource {
  const runner = (mode: 'master' | 'slave') => ({
    query: async () => [mode === 'master' ? { lsn: primaryLsn() } : replica()],
    release: async () => undefined,
  });
  return { options: { type: 'postgres' }, createQueryRunner: runner } as unknown as DataSource;
}

describe('ReplicaLagGate', () => {
  it('reads pg_lsn positions as byte offsets', () => {
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
  });

  it('reads the primary until a check finds the replica caught up, then the replica; counts bypasses', async () => {
    let replayed = '0/10';
    const gate = new ReplicaLagGate(
      fakeDataSource(
        () => '0/20',
        () => ({ standby: true, lsn: replayed }),
      ),
      { maxLagMs: 30, intervalMs: 60_000 },
    );
    expect(gate.readFrom()).toBe('primary');
    await gate.check(); // behind for longer than the bound
    expect(gate.onReplica).toBe(false);
    expect(gate.lagMs).toBeGreaterThan(30);
    replayed = '0/20';
    await gate.check();
    expect(gate.onReplica).toBe(true);
    expect(gate.lagMs).toBeLessThanOrEqual(30);
    expect(gate.readFrom()).toBe('replica');
    expect(gate.bypasses).toBe(1);
    expect(gate.checks).toBe(2);
    await gate.stop();
  });

  it('sends lookups to the primary when the replica fails or was promoted', async () => {
    let answer: () => { standby: boolean; lsn: string | null } = () => ({ standby: true, lsn: '0/20' });
    const gate = new ReplicaLagGate(
      fakeDataSource(
        () => '0/20',
        () => answer(),
      ),
      { maxLagMs: 30, intervalMs: 60_000 },
    );
    await gate.check();
    expect(gate.onReplica).toBe(true);
    answer = () => {
      throw new Error('connection refused');
    };
    await gate.check();
    expect(gate.onReplica).toBe(false);
    expect(gate.lagMs).toBeUndefined();
    answer = () => ({ standby: false, lsn: null });
    await gate.check();
    expect(gate.onReplica).toBe(false);
  });

  it('refuses a DataSource that is not PostgreSQL', () => {
    const mysql = { options: { type: 'mysql' } } as unknown as DataSource;
    expect(() => new ReplicaLagGate(mysql, { maxLagMs: 100, intervalMs: 1000 })).toThrow(/PostgreSQL only/);
  });
});
