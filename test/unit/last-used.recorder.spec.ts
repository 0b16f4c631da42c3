import { describe, expect, it } from '@jest/globals';
import { ResolvedApiKeyOptions } from '../../lib/api-key.options.js';
import type { ApiKeyStore } from '../../lib/storage/index.js';
import { LastUsedRecorder } from '../../lib/verification/index.js';

/** A store fake recording markUsed calls (pure logic under test: the batching). */
class FakeStore implements ApiKeyStore {
  readonly calls: { ids: string[]; at: Date }[] = [];
  failNext = false;
  async findByHash(): Promise<null> {
    return null;
  }
  async markUsed(ids: readonly string[], at: Date): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('down');
    }
    this.calls.push({ ids: [...ids].sort(), at });
  }
}

function recorder(intervalMs = 1000) {
  const store = new FakeStore();
  return {
    store,
    recorder: new LastUsedRecorder(new ResolvedApiKeyOptions({ lastUsedIntervalMs: intervalMs }), store),
  };
}

describe('LastUsedRecorder', () => {
  it('batches all touched keys into one write', async () => {
    const { store, recorder: r } = recorder();
    r.touch('a', 0);
    r.touch('b', 1);
    r.touch('a', 2);
    await r.flush(10);
    expect(store.calls).toEqual([{ ids: ['a', 'b'], at: new Date(10) }]);
    r.onModuleDestroy();
  });

  it('writes a key at most once per interval', async () => {
    const { store, recorder: r } = recorder(1000);
    r.touch('a', 0);
    await r.flush(0);
    r.touch('a', 500);
    await r.flush(500);
    expect(store.calls).toHaveLength(1);
    r.touch('a', 1000);
    await r.flush(1000);
    expect(store.calls).toHaveLength(2);
    r.onModuleDestroy();
  });

  it('keeps uses of a failed write for the next flush', async () => {
    const { store, recorder: r } = recorder();
    r.touch('a', 0);
    store.failNext = true;
    await r.flush(0);
    expect(store.calls).toHaveLength(0);
    await r.flush(5);
    expect(store.calls).toEqual([{ ids: ['a'], at: new Date(5) }]);
    r.onModuleDestroy();
  });

  it('flushes on shutdown and records nothing when disabled', async () => {
    const { store, recorder: r } = recorder();
    r.touch('a');
    await r.beforeApplicationShutdown();
    expect(store.calls).toHaveLength(1);
    const off = recorder(0);
    off.recorder.touch('a');
    await off.recorder.flush();
    expect(off.store.calls).toHaveLength(0);
  });
});
