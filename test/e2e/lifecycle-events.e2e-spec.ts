import { describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { ApiKeyStateError, ApiKeyValidationError, hashApiKey, type ApiKeyLifecycleEvent } from 'nestjs-opaque-keys';
import {
  API_KEY_EVENT_LISTENER,
  ApiKeyEventPublisher,
  withEvents,
  type ApiKeyEventListener,
} from 'nestjs-opaque-keys/events';
import { ApiKeyChanges } from '../../lib/lifecycle/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Lifecycle events are announced after the change committed, never for a
 * change that failed or rolled back; through a listener (option or provider
 * token) and through @nestjs/event-emitter; a listener that throws never
 * fails the change; no event holds a key or its hash.
 */

function recorder(): ApiKeyEventListener & { events: ApiKeyLifecycleEvent[] } {
  const events: ApiKeyLifecycleEvent[] = [];
  return { events, onApiKeyEvent: (event) => void events.push(event) };
}

const settled = (t: TestApp) => t.app.get(ApiKeyEventPublisher).idle();

describe('lifecycle events', () => {
  it('announces each change once, with id, owner, actor and details, and never a key or a hash', async () => {
    const heard = recorder();
    const t = await createTestApp({ extras: { features: [withEvents({ listeners: [heard] })] } });
    try {
      const issued = await t.service.issue({ name: 'a', ownerId: 'acme', scopes: ['x'], actor: 'alice' });
      await t.service.updateScopes(issued.record.id, ['y'], { actor: 'bob' });
      const rotated = await t.service.rotate(issued.record.id, { gracePeriodMs: 60_000, actor: 'carol' });
      // Presenting the rotated-away key again: reuse, the family revoked.
      await expect(t.service.rotateByKey(issued.key)).rejects.toBeInstanceOf(ApiKeyStateError);
      const leaked = await t.service.issue({ name: 'leaked', ownerId: 'acme' });
      await expect(t.service.revokeByKey(leaked.key, 'found on GitHub', { actor: 'scanner' })).resolves.toEqual({
        status: 'revoked',
      });
      await settled(t);
      expect(heard.events.map((e) => [e.type, e.keyId])).toEqual([
        ['issued', issued.record.id],
        ['scopes_changed', issued.record.id],
        ['rotated', issued.record.id],
        ['issued', rotated.record.id],
        ['reuse_detected', issued.record.id],
        ['issued', leaked.record.id],
        ['leak_reported', leaked.record.id],
        ['revoked', leaked.record.id],
      ]);
      expect(heard.events[1]).toMatchObject({ ownerId: 'acme', actor: 'bob', details: { scopes: ['y'] } });
      expect(heard.events[1].at).toBeInstanceOf(Date);
      expect(heard.events[6]).toMatchObject({
        type: 'leak_reported',
        actor: 'scanner',
        details: { reason: 'found on GitHub' },
      });
      const text = JSON.stringify(heard.events);
      for (const key of [issued.key, rotated.key, leaked.key]) {
        expect(text).not.toContain(key);
        expect(text).not.toContain(hashApiKey(key));
      }
    } finally {
      await t.close();
    }
  });

  it('announces nothing for a change that failed or rolled back', async () => {
    const heard = recorder();
    const t = await createTestApp({ extras: { features: [withEvents({ listeners: [heard] })] } });
    try {
      const { record } = await t.service.issue({ name: 'a' });
      await t.service.revoke(record.id);
      await settled(t);
      heard.events.length = 0;
      // Refused changes: revoking twice, rotating a revoked key.
      await expect(t.service.revoke(record.id)).rejects.toBeInstanceOf(ApiKeyStateError);
      await expect(t.service.rotate(record.id)).rejects.toBeInstanceOf(ApiKeyStateError);
      // A transaction that wrote its audit event, then failed: rolled back, so unannounced.
      await expect(
        t.app.get(ApiKeyChanges).run(async ({ record: write }) => {
          write({ keyId: record.id, ownerId: null, type: 'scopes_changed', details: {} });
          throw new ApiKeyValidationError('fails after the audit write');
        }),
      ).rejects.toThrow('fails after the audit write');
      await settled(t);
      expect(heard.events).toEqual([]);
      expect((await t.service.listEvents({ keyId: record.id })).items.map((e) => e.type)).toEqual([
        'revoked',
        'issued',
      ]);
    } finally {
      await t.close();
    }
  });

  it('a listener that throws or rejects never fails the change, and the others still hear it', async () => {
    const heard = recorder();
    const throwing: ApiKeyEventListener = {
      onApiKeyEvent: () => {
        throw new Error('listener broke');
      },
    };
    const rejecting: ApiKeyEventListener = { onApiKeyEvent: () => Promise.reject(new Error('listener rejected')) };
    const t = await createTestApp({ extras: { features: [withEvents({ listeners: [throwing, rejecting, heard] })] } });
    try {
      const { record } = await t.service.issue({ name: 'a' });
      await expect(t.service.revoke(record.id)).resolves.toMatchObject({ id: record.id });
      await settled(t);
      expect(heard.events.map((e) => e.type)).toEqual(['issued', 'revoked']);
      const errors = t.logs.lines.filter((line) => /lifecycle event deliveries failed/.test(line));
      expect(errors).toHaveLength(2); // one line per change, not one per listener
      expect(errors[1]).toMatch(/2 of 3 .*revoked.*listener broke/);
    } finally {
      await t.close();
    }
  });

  it('emits api-key.<type> through @nestjs/event-emitter, and finds listeners provided by token', async () => {
    const received: ApiKeyLifecycleEvent[] = [];
    @Injectable()
    class RevocationHandler {
      @OnEvent('api-key.revoked')
      onRevoked(event: ApiKeyLifecycleEvent) {
        received.push(event);
      }
      @OnEvent('api-key.issued', { async: true })
      onIssued() {
        throw new Error('an @OnEvent handler that throws');
      }
    }
    const provided = recorder();
    const t = await createTestApp({
      imports: [EventEmitterModule.forRoot()],
      providers: [RevocationHandler, { provide: API_KEY_EVENT_LISTENER, useValue: provided }],
      extras: { features: [withEvents()] },
    });
    try {
      const { record } = await t.service.issue({ name: 'a', ownerId: 'o' });
      await t.service.revoke(record.id, 'done', { actor: 'ops' });
      await settled(t);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ type: 'revoked', keyId: record.id, ownerId: 'o', actor: 'ops' });
      expect(provided.events.map((e) => e.type)).toEqual(['issued', 'revoked']);
    } finally {
      await t.close();
    }
  });
});
