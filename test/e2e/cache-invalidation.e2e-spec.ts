import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  ApiKeyStateError,
  type ApiKeyInvalidation,
  type ApiKeyInvalidationBus,
  type ApiKeyInvalidationHandlers,
} from 'nestjs-opaque-keys';
import type { EntityManager } from 'typeorm';
import { ApiKeyChanges } from '../../lib/lifecycle/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Every change to a key invalidates the lookup cache as an explicit step of
 * the change, inside its transaction and after its statements, whatever
 * events it writes: the audit log only writes events. A bus of the test's own
 * (`'transaction'` delivery) records what each change publishes, with the
 * statements that had run in the transaction by then.
 */

interface Published {
  change: ApiKeyInvalidation;
  inTransaction: boolean;
  /** The change's statements run before the publish (transaction control left out). */
  before: string[];
}

class RecordingBus implements ApiKeyInvalidationBus {
  readonly delivery = 'transaction' as const;
  readonly published: Published[] = [];
  statements: () => string[] = () => [];

  async publish(_channel: string, change: ApiKeyInvalidation, em?: EntityManager): Promise<void> {
    const before = this.statements().filter((sql) => /^(INSERT|UPDATE|DELETE)/i.test(sql.trim()));
    this.published.push({ change, inTransaction: em?.queryRunner?.isTransactionActive === true, before });
  }
  async subscribe(_channel: string, handlers: ApiKeyInvalidationHandlers): Promise<void> {
    handlers.reset();
  }
  async close(): Promise<void> {}
}

describe('cache invalidation is a step of each change, not of its audit event', () => {
  let t: TestApp;
  const bus = new RecordingBus();
  let mark = 0;

  beforeAll(async () => {
    t = await createTestApp({ options: { lastUsedIntervalMs: 0, cache: { ttlMs: 60_000, invalidation: bus } } });
    bus.statements = () => t.queries.queries.slice(mark);
  });
  afterAll(() => t.close());
  beforeEach(() => {
    bus.published.length = 0;
    mark = t.queries.queries.length;
  });

  /** The one publish of the change: in its transaction, after its UPDATE. */
  function onlyPublish(): Published {
    expect(bus.published).toHaveLength(1);
    const [published] = bus.published;
    expect(published!.inTransaction).toBe(true);
    expect(published!.before.some((sql) => /^UPDATE/i.test(sql.trim()))).toBe(true);
    return published!;
  }

  it('issue publishes nothing (a new key has no cached row)', async () => {
    await t.service.issue({ name: 'new' });
    expect(bus.published).toEqual([]);
  });

  it('revoke invalidates the key', async () => {
    const { record } = await t.service.issue({ name: 'revoked' });
    mark = t.queries.queries.length;
    await t.service.revoke(record.id, 'test');
    expect(onlyPublish().change).toEqual({ ids: [record.id] });
  });

  it('updateScopes invalidates the key', async () => {
    const { record } = await t.service.issue({ name: 'scoped', scopes: ['a'] });
    mark = t.queries.queries.length;
    await t.service.updateScopes(record.id, ['b']);
    expect(onlyPublish().change).toEqual({ ids: [record.id] });
  });

  it('rotate without grace invalidates the old key', async () => {
    const { record } = await t.service.issue({ name: 'rotated' });
    mark = t.queries.queries.length;
    await t.service.rotate(record.id);
    expect(onlyPublish().change).toEqual({ ids: [record.id] });
  });

  it('rotate with grace invalidates the old key (its expiry is shortened)', async () => {
    const { record } = await t.service.issue({ name: 'graced' });
    mark = t.queries.queries.length;
    await t.service.rotate(record.id, { gracePeriodMs: 60_000 });
    expect(onlyPublish().change).toEqual({ ids: [record.id] });
  });

  it('rotateByKey of a rotated-away key (reuse detected) invalidates every cached row', async () => {
    const first = await t.service.issue({ name: 'family' });
    await t.service.rotateByKey(first.key);
    bus.published.length = 0;
    mark = t.queries.queries.length;
    await expect(t.service.rotateByKey(first.key)).rejects.toBeInstanceOf(ApiKeyStateError);
    expect(onlyPublish().change).toEqual({ all: true });
  });

  it('a refused change publishes nothing', async () => {
    const { record } = await t.service.issue({ name: 'twice' });
    await t.service.revoke(record.id);
    bus.published.length = 0;
    await expect(t.service.revoke(record.id)).rejects.toBeInstanceOf(ApiKeyStateError);
    await expect(t.service.updateScopes(record.id, ['x'])).rejects.toBeInstanceOf(ApiKeyStateError);
    expect(bus.published).toEqual([]);
  });

  it('a change that records events, of any type, and invalidates nothing publishes nothing', async () => {
    const { record } = await t.service.issue({ name: 'events only' });
    await t.app.get(ApiKeyChanges).run(async ({ record: write }) => {
      write(
        { keyId: record.id, ownerId: null, type: 'revoked' },
        { keyId: record.id, ownerId: null, type: 'scopes_changed' },
        { keyId: record.id, ownerId: null, type: 'rotated' },
        { keyId: record.id, ownerId: null, type: 'reuse_detected' },
      );
    });
    expect(bus.published).toEqual([]);
  });
});
