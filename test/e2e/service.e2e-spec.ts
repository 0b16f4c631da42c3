import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApiKeyNotFoundError,
  ApiKeyStateError,
  ApiKeyValidationError,
  generateApiKey,
  hashApiKey,
} from 'nestjs-opaque-keys';
import { createTestApp, type TestApp } from '../support/test-app.js';

describe('ApiKeyService', () => {
  let t: TestApp;
  const count = () => t.dataSource.getRepository('ApiKeyEntity').count();

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('issue', () => {
    it('returns the plaintext once and stores only its hash and hint', async () => {
      const expiresAt = new Date(Date.now() + 3_600_000);
      const { key, record } = await t.service.issue({
        name: 'ci deploy',
        ownerId: 'u1',
        scopes: ['deploy:*', 'deploy:*'],
        expiresAt,
        metadata: { env: 'prod' },
      });
      expect(key).toMatch(/^sk_[0-9A-Za-z]{49}$/);
      expect(record).toMatchObject({
        name: 'ci deploy',
        ownerId: 'u1',
        scopes: ['deploy:*'],
        metadata: { env: 'prod' },
        hint: key.slice(0, 7),
      });
      expect(record.expiresAt?.getTime()).toBe(expiresAt.getTime());
      expect(record).not.toHaveProperty('hash');
      expect(JSON.stringify(record)).not.toContain(key);
      const row = await t.dataSource.getRepository('ApiKeyEntity').findOneByOrFail({ id: record.id });
      expect(row.hash).toBe(hashApiKey(key));
      expect(JSON.stringify(row)).not.toContain(key);
      const fetched = await t.service.get(record.id);
      expect(fetched).toEqual(record);
      expect(fetched).not.toHaveProperty('hash');
    });

    it('rejects bad input with a clear error and writes nothing', async () => {
      const before = await count();
      const bad: [Record<string, unknown>, RegExp][] = [
        [{ name: '' }, /name/],
        [{ name: 'x', scopes: ['orders read'] }, /invalid scope "orders read"/],
        [{ name: 'x', scopes: Array.from({ length: 101 }, (_, i) => `s${i}`) }, /at most 100/],
        [{ name: 'x', expiresAt: new Date(Date.now() - 1000) }, /future/],
        [{ name: 'x', metadata: 'nope' }, /JSON object/],
        [{ name: 'x', ownerId: 42 }, /ownerId/],
      ];
      for (const [input, message] of bad) {
        await expect(t.service.issue(input as never)).rejects.toThrow(message);
        await expect(t.service.issue(input as never)).rejects.toBeInstanceOf(ApiKeyValidationError);
      }
      expect(await count()).toBe(before);
    });
  });

  describe('verify', () => {
    it('returns a typed result for every outcome', async () => {
      const { key, record } = await t.service.issue({ name: 'v', scopes: ['a'] });
      await expect(t.service.verify(key)).resolves.toEqual({
        valid: true,
        principal: {
          id: record.id,
          familyId: record.id,
          name: 'v',
          ownerId: null,
          scopes: ['a'],
          metadata: null,
          expiresAt: null,
          environment: null,
          remainingUses: null,
          rateLimit: null,
        },
      });
      await expect(t.service.verify('garbage')).resolves.toEqual({ valid: false, reason: 'malformed' });
      await expect(t.service.verify(generateApiKey({ prefix: 'sk' }))).resolves.toEqual({
        valid: false,
        reason: 'unknown',
      });
      await t.service.revoke(record.id);
      await expect(t.service.verify(key)).resolves.toEqual({
        valid: false,
        reason: 'revoked',
        keyId: record.id,
        ownerId: null,
      });
    });
  });

  describe('rotate', () => {
    it('without grace revokes the old key now and links the successor', async () => {
      const old = await t.service.issue({ name: 'svc', ownerId: 'o', scopes: ['x:read'], metadata: { a: 1 } });
      const rotated = await t.service.rotate(old.record.id);
      expect(rotated.key).not.toBe(old.key);
      expect(rotated.record).toMatchObject({
        name: 'svc',
        ownerId: 'o',
        scopes: ['x:read'],
        metadata: { a: 1 },
        revokedAt: null,
      });
      expect(rotated.previous).toMatchObject({
        id: old.record.id,
        replacedById: rotated.record.id,
        revokedReason: 'rotated',
      });
      const stored = await t.service.get(old.record.id);
      expect(stored.revokedAt).toBeInstanceOf(Date);
      expect(stored.replacedById).toBe(rotated.record.id);
      expect((await t.service.verify(old.key)).valid).toBe(false);
      expect((await t.service.verify(rotated.key)).valid).toBe(true);
    });

    it('with grace keeps the old key valid until now + grace, and keeps the lifetime', async () => {
      const lifetime = 3_600_000;
      const old = await t.service.issue({ name: 'g', expiresAt: new Date(Date.now() + lifetime) });
      const before = Date.now();
      const rotated = await t.service.rotate(old.record.id, { gracePeriodMs: 60_000 });
      const previous = await t.service.get(old.record.id);
      expect(previous.revokedAt).toBeNull();
      expect(previous.replacedById).toBe(rotated.record.id);
      expect(previous.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 60_000);
      expect(previous.expiresAt!.getTime()).toBeLessThan(before + 61_000);
      expect(rotated.record.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + lifetime - 1000);
      expect((await t.service.verify(old.key)).valid).toBe(true);
    });

    it('refuses revoked, rotated and unknown keys with clear errors', async () => {
      const a = await t.service.issue({ name: 'a' });
      await t.service.rotate(a.record.id, { gracePeriodMs: 10_000 });
      await expect(t.service.rotate(a.record.id)).rejects.toThrow(new ApiKeyStateError(a.record.id, 'rotated'));
      const b = await t.service.issue({ name: 'b' });
      await t.service.revoke(b.record.id);
      await expect(t.service.rotate(b.record.id)).rejects.toBeInstanceOf(ApiKeyStateError);
      await expect(t.service.rotate('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(
        ApiKeyNotFoundError,
      );
      await expect(t.service.rotate(a.record.id, { gracePeriodMs: -5 })).rejects.toBeInstanceOf(ApiKeyValidationError);
    });

    it('of concurrent rotations of one key exactly one wins', async () => {
      const { record } = await t.service.issue({ name: 'race' });
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => t.service.rotate(record.id)));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ApiKeyStateError);
      const successors = await t.dataSource.getRepository('ApiKeyEntity').countBy({ name: 'race' });
      expect(successors).toBe(2);
    });
  });

  describe('revoke and updateScopes', () => {
    it('revokes once, with a reason; twice is an error', async () => {
      const { record } = await t.service.issue({ name: 'r' });
      const revoked = await t.service.revoke(record.id, 'leaked in a log');
      expect(revoked.revokedReason).toBe('leaked in a log');
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      await expect(t.service.revoke(record.id)).rejects.toThrow(`API key ${record.id} is already revoked`);
      await expect(t.service.revoke('missing')).rejects.toBeInstanceOf(ApiKeyNotFoundError);
    });

    it('ends a rotation grace period early', async () => {
      const old = await t.service.issue({ name: 'early' });
      await t.service.rotate(old.record.id, { gracePeriodMs: 60_000 });
      await t.service.revoke(old.record.id, 'compromised');
      expect((await t.service.verify(old.key)).valid).toBe(false);
    });

    it('updates scopes of live keys only, validating them', async () => {
      const { record } = await t.service.issue({ name: 's', scopes: ['a'] });
      expect((await t.service.updateScopes(record.id, ['b', 'c:*'])).scopes).toEqual(['b', 'c:*']);
      await expect(t.service.updateScopes(record.id, ['bad scope'])).rejects.toBeInstanceOf(ApiKeyValidationError);
      expect((await t.service.get(record.id)).scopes).toEqual(['b', 'c:*']);
      await t.service.revoke(record.id);
      await expect(t.service.updateScopes(record.id, ['a'])).rejects.toBeInstanceOf(ApiKeyStateError);
    });
  });

  describe('list', () => {
    it('pages newest first and filters by owner and state', async () => {
      for (let i = 0; i < 5; i++) await t.service.issue({ name: `p${i}`, ownerId: 'pager' });
      const { record } = await t.service.issue({ name: 'p-revoked', ownerId: 'pager' });
      await t.service.revoke(record.id);
      const first = await t.service.list({ ownerId: 'pager', limit: 4 });
      expect(first.total).toBe(6);
      expect(first.items).toHaveLength(4);
      const second = await t.service.list({ ownerId: 'pager', limit: 4, offset: 4 });
      expect(second.items).toHaveLength(2);
      const ids = [...first.items, ...second.items].map((item) => item.id);
      expect(new Set(ids).size).toBe(6);
      for (const item of first.items) expect(item).not.toHaveProperty('hash');
      const times = [...first.items, ...second.items].map((item) => item.createdAt.getTime());
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect((await t.service.list({ ownerId: 'pager', includeRevoked: false })).total).toBe(5);
      await expect(t.service.list({ limit: 0 })).rejects.toBeInstanceOf(ApiKeyValidationError);
      await expect(t.service.list({ limit: 101 })).rejects.toBeInstanceOf(ApiKeyValidationError);
    });
  });
});
