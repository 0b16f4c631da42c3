import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { generateApiKey } from 'nestjs-opaque-keys';
import { BootstrapAdminKey } from '../../sample-app/bootstrap-admin-key.js';
import { SampleAppConfig } from '../../sample-app/config/sample-app.config.js';
import { findLeaks, leakGuard } from '../support/leak-guard.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Tests of test/support/leak-guard.ts, the check every suite runs: the pure
 * search (properties, 10,000 runs, seed 42) and the installed guard, which
 * must see keys in stdout, stderr, the console and the Nest logger, and must
 * set aside only the sample app's bootstrap banner. Keys leaked on purpose
 * here are forgotten afterwards, so this suite's own check passes.
 */
const RUNS = { numRuns: 10_000, seed: 42 } as const;

const base62 = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
const key = fc.string({ unit: base62, minLength: 28, maxLength: 49 }).map((body) => `sk_${body}`);
const text = fc.string({ unit: 'binary', maxLength: 60 });

/** Splits `s` into chunks at the given cut points. */
function chunk(s: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const p of points) {
    out.push(s.slice(from, p));
    from = p;
  }
  out.push(s.slice(from));
  return out;
}

describe('findLeaks (properties)', () => {
  it('finds a key however the stream was chunked around it', () => {
    fc.assert(
      fc.property(key, text, text, fc.array(fc.nat(), { maxLength: 6 }), (k, before, after, cuts) => {
        const leaks = findLeaks([k], [{ name: 'stdout', chunks: chunk(before + k + after, cuts), joiner: '' }]);
        if (leaks.length !== 1) throw new Error(`missed ${k}`);
        if (leaks[0].context.includes(k)) throw new Error('the report repeats the key');
      }),
      RUNS,
    );
  });

  it('reports nothing when the key is absent (no false positives, even for a near miss)', () => {
    fc.assert(
      fc.property(key, text, fc.array(text, { maxLength: 4 }), (k, noise, lines) => {
        const nearMiss = k.slice(0, -1); // one character short
        const chunks = [...lines, noise, nearMiss].filter((line) => !line.includes(k));
        if (findLeaks([k], [{ name: 'log', chunks, joiner: '\n' }]).length !== 0)
          throw new Error(`false positive for ${k}`);
      }),
      RUNS,
    );
  });
});

describe('the installed leak guard', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('records every key issue(), rotate() and rotateByKey() return', async () => {
    const issued = await t.service.issue({ name: 'recorded' });
    const rotated = await t.service.rotate(issued.record.id, { gracePeriodMs: 60_000 });
    const rotatedByKey = await t.service.rotateByKey(rotated.key);
    expect(leakGuard.keys.has(issued.key)).toBe(true);
    expect(leakGuard.keys.has(rotated.key)).toBe(true);
    expect(leakGuard.keys.has(rotatedByKey.key)).toBe(true);
    // A key nobody issued is not tracked (the guard only knows real plaintexts).
    expect(leakGuard.keys.has(generateApiKey({ prefix: 'sk' }))).toBe(false);
  });

  it('sees a key written to stdout (split across writes), to stderr and to the Nest logger', async () => {
    const { key: leaked } = await t.service.issue({ name: 'leaked on purpose' });
    try {
      await leakGuard.muted(() => {
        process.stdout.write(`token=${leaked.slice(0, 10)}`);
        process.stdout.write(`${leaked.slice(10)}\n`);
        process.stderr.write(Buffer.from(`oops ${leaked}\n`));
      });
      new Logger('LeakTest').warn(`presented ${leaked}`);
      const sources = leakGuard
        .leaks()
        .filter((leak) => leak.hint === `${leaked.slice(0, 7)}...`)
        .map((leak) => leak.source);
      expect(sources).toEqual(expect.arrayContaining(['stdout', 'stderr', 'Nest logger (LogCapture)']));
    } finally {
      leakGuard.forget(leaked);
    }
    expect(leakGuard.leaks()).toEqual([]);
  });

  it('sees a key written through the test console', async () => {
    const { key: leaked } = await t.service.issue({ name: 'console leak' });
    const buffered = (console as { getBuffer?: () => { message: string }[] | undefined }).getBuffer;
    try {
      await leakGuard.muted(() => console.log(`console ${leaked}`));
      // Jest keeps console lines in a buffer (and, when verbose, also writes them to stdout).
      expect(leakGuard.leaks().map((leak) => leak.source)).toContain('console');
    } finally {
      // Jest's buffered console would print the line after the suite: take it back out.
      const buffer = buffered?.call(console);
      const at = buffer?.findIndex((entry) => entry.message.includes(leaked)) ?? -1;
      if (at >= 0) buffer!.splice(at, 1);
      leakGuard.forget(leaked);
    }
  });

  it("sets aside the sample app's bootstrap banner (and only that print)", async () => {
    const fresh = await createTestApp();
    try {
      const bootstrap = new BootstrapAdminKey(fresh.service, new SampleAppConfig(3000, ':memory:'));
      const exemptedBefore = leakGuard.exempted.length;
      await leakGuard.muted(() => bootstrap.onApplicationBootstrap());
      const banner = leakGuard.exempted.slice(exemptedBefore).join('');
      const admin = /\bsk_[0-9A-Za-z]+/.exec(banner)?.[0] ?? '';
      // The banner printed a key the guard recorded, and does not count as a leak.
      expect(leakGuard.keys.has(admin)).toBe(true);
      expect(leakGuard.leaks()).toEqual([]);
      // The same key printed from anywhere else is a leak.
      try {
        await leakGuard.muted(() => process.stdout.write(`copied ${admin}\n`));
        expect(leakGuard.leaks().map((leak) => leak.source)).toEqual(['stdout']);
      } finally {
        leakGuard.forget(admin);
      }
    } finally {
      await fresh.close();
    }
  });
});
