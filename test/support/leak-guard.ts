import { afterAll } from '@jest/globals';
import { ApiKeyService } from 'nestjs-opaque-keys';
import { LogCapture } from './log-capture.js';
import { QueryCounter } from './query-counter.js';

/**
 * Loaded for every suite (jest.config.js `setupFilesAfterEnv`). It records
 * every plaintext key an `ApiKeyService` method returns during the suite
 * (`issue`, `rotate`, `rotateByKey`: any result with a `key`), captures what
 * the suite writes, and fails the suite in an `afterAll` if any recorded key
 * appears in:
 *
 * - `process.stdout` / `process.stderr` (wrapped, always passed through: jest's
 *   own output and everyone else's still reach the terminal);
 * - the test console (jest's buffered console, or its verbose console, which
 *   writes to the streams above);
 * - every `LogCapture` (the Nest logger of test apps) and the SQL statements
 *   and parameters every `QueryCounter` (the TypeORM logger of test apps) saw.
 *
 * One write is deliberately exempt: the sample app prints its bootstrap admin
 * key once to stdout on first start (sample-app/bootstrap-admin-key.ts; that
 * print is the product). A write whose call stack passes through that file is
 * set aside, not searched; the same key anywhere else is still a leak.
 *
 * Limitation: it checks when the suite's root-level `afterAll` hooks run (after
 * every `describe`'s own hooks, where apps are closed), so output written by
 * another *root-level* `afterAll` declared after this one is not seen.
 */

/** The one call site allowed to print a plaintext key: the sample app's bootstrap banner. */
export const BOOTSTRAP_PRINT_SITE = /[\\/]sample-app[\\/]bootstrap-admin-key\.[cm]?[jt]s\b/;

/** A stream of captured text: chunks are searched joined, so a key split across writes is still found. */
export interface CapturedSource {
  readonly name: string;
  readonly chunks: readonly string[];
  /** '' for byte streams (a key may be split across writes), '\n' for separate lines. */
  readonly joiner: string;
}

/** One key found in one source, described without the key itself. */
export interface Leak {
  readonly source: string;
  /** The key's prefix and first 4 body characters, like a stored hint. */
  readonly hint: string;
  /** Up to 40 characters around the key, with the key replaced by `<KEY>`. */
  readonly context: string;
}

/** Pure: every (key, source) pair where the key occurs in the source's text. */
export function findLeaks(keys: Iterable<string>, sources: readonly CapturedSource[]): Leak[] {
  const leaks: Leak[] = [];
  for (const source of sources) {
    const text = source.chunks.join(source.joiner);
    for (const key of keys) {
      const at = key.length > 0 ? text.indexOf(key) : -1;
      if (at < 0) continue;
      const context = `${text.slice(Math.max(0, at - 40), at)}<KEY>${text.slice(at + key.length, at + key.length + 40)}`;
      leaks.push({ source: source.name, hint: hintOf(key), context: context.replace(/\s+/g, ' ') });
    }
  }
  return leaks;
}

function hintOf(key: string): string {
  const split = key.lastIndexOf('_');
  return split < 0 ? `${key.slice(0, 4)}...` : `${key.slice(0, split + 5)}...`;
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function callStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  try {
    return new Error().stack ?? '';
  } finally {
    Error.stackTraceLimit = limit;
  }
}

type Write = typeof process.stdout.write;

/** The state of the guard for the running suite; tests of the guard itself use it. */
export class LeakGuard {
  /** Plaintext keys issued or rotated during the suite. */
  readonly keys = new Set<string>();
  /** Chunks written to stdout / stderr, excluding the allowed bootstrap print. */
  readonly streams = { stdout: [] as string[], stderr: [] as string[] };
  /** Writes set aside because they came from the sample app's bootstrap banner. */
  readonly exempted: string[] = [];
  private readonly logCaptures = new Set<LogCapture>();
  private readonly queryCounters = new Set<QueryCounter>();
  private readonly sqlParameters: string[] = [];
  private readonly restores: (() => void)[] = [];
  /** When set, stream writes are captured but not passed on: only for tests of the guard itself. */
  private mute = false;

  /** Wraps the streams, the service and the test loggers. */
  install(): void {
    this.hookStream('stdout');
    this.hookStream('stderr');
    this.recordKeysFromService();
    this.trackInstances(LogCapture.prototype, ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'], this.logCaptures);
    this.trackInstances(QueryCounter.prototype, ['logQuery', 'logQueryError', 'logQuerySlow'], this.queryCounters);
    // TypeORM hands loggers the parameters too; a key must never be one.
    const guard = this;
    for (const method of ['logQuery', 'logQuerySlow'] as const) {
      const original = QueryCounter.prototype[method] as (...args: unknown[]) => void;
      (QueryCounter.prototype as unknown as Record<string, unknown>)[method] = function (
        this: QueryCounter,
        ...args: unknown[]
      ) {
        const parameters = method === 'logQuery' ? args[1] : args[2];
        if (parameters !== undefined) guard.sqlParameters.push(textOf(parameters));
        return original.apply(this, args);
      };
      this.restores.push(() => ((QueryCounter.prototype as unknown as Record<string, unknown>)[method] = original));
    }
  }

  /** Undoes {@link install}, newest first. */
  uninstall(): void {
    while (this.restores.length > 0) this.restores.pop()!();
  }

  /** Everything captured so far, as searchable sources. */
  sources(): CapturedSource[] {
    const consoleBuffer =
      (globalThis.console as { getBuffer?: () => { message: string; origin: string }[] | undefined }).getBuffer?.() ??
      [];
    return [
      { name: 'stdout', chunks: this.streams.stdout, joiner: '' },
      { name: 'stderr', chunks: this.streams.stderr, joiner: '' },
      {
        name: 'console',
        chunks: consoleBuffer.filter((entry) => !BOOTSTRAP_PRINT_SITE.test(entry.origin)).map((entry) => entry.message),
        joiner: '\n',
      },
      {
        name: 'Nest logger (LogCapture)',
        chunks: [...this.logCaptures].flatMap((capture) => capture.lines),
        joiner: '\n',
      },
      {
        name: 'SQL statements (QueryCounter)',
        chunks: [...this.queryCounters].flatMap((counter) => counter.queries),
        joiner: '\n',
      },
      { name: 'SQL parameters', chunks: this.sqlParameters, joiner: '\n' },
    ];
  }

  /** The leaks found so far. */
  leaks(): Leak[] {
    return findLeaks(this.keys, this.sources());
  }

  /**
   * Runs `work` with stdout/stderr captured but not shown, for tests of the
   * guard that leak a key on purpose. Nothing else should be writing meanwhile.
   */
  async muted<T>(work: () => Promise<T> | T): Promise<T> {
    this.mute = true;
    try {
      return await work();
    } finally {
      this.mute = false;
    }
  }

  /** Stops tracking a key (for tests of the guard that leak one on purpose). */
  forget(key: string): void {
    this.keys.delete(key);
  }

  private hookStream(name: 'stdout' | 'stderr'): void {
    const stream = process[name];
    const original: Write = stream.write;
    const chunks = this.streams[name];
    const guard = this;
    const wrapper = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
      const text = textOf(chunk);
      if (BOOTSTRAP_PRINT_SITE.test(callStack())) guard.exempted.push(text);
      else chunks.push(text);
      if (guard.mute) {
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
        if (callback) process.nextTick(callback);
        return true;
      }
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Write;
    stream.write = wrapper;
    this.restores.push(() => {
      // Only if nobody re-wrapped it since (a spy restores to our wrapper, then we restore).
      if (stream.write === wrapper) stream.write = original;
    });
  }

  /** Wraps every method of ApiKeyService: a result (or resolved value) with a string `key` is a plaintext. */
  private recordKeysFromService(): void {
    const prototype = ApiKeyService.prototype as unknown as Record<string, unknown>;
    const keys = this.keys;
    const note = (result: unknown) => {
      const key = (result as { key?: unknown } | null | undefined)?.key;
      if (typeof key === 'string') keys.add(key);
      return result;
    };
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
      if (name === 'constructor' || typeof descriptor?.value !== 'function') continue;
      const original = descriptor.value as (...args: unknown[]) => unknown;
      prototype[name] = function (this: ApiKeyService, ...args: unknown[]) {
        const result = original.apply(this, args);
        return result instanceof Promise ? result.then(note) : note(result);
      };
      this.restores.push(() => (prototype[name] = original));
    }
  }

  private trackInstances<T extends object>(prototype: T, methods: string[], into: Set<T>): void {
    for (const method of methods) {
      const original = (prototype as Record<string, unknown>)[method] as ((...args: unknown[]) => unknown) | undefined;
      if (typeof original !== 'function') continue;
      (prototype as Record<string, unknown>)[method] = function (this: T, ...args: unknown[]) {
        into.add(this);
        return original.apply(this, args);
      };
      this.restores.push(() => ((prototype as Record<string, unknown>)[method] = original));
    }
  }
}

/** The guard of the running suite. */
export const leakGuard = new LeakGuard();
leakGuard.install();

afterAll(() => {
  leakGuard.uninstall();
  const leaks = leakGuard.leaks();
  if (leaks.length > 0) {
    const lines = leaks.map((leak) => `  - ${leak.hint} in ${leak.source}: "${leak.context}"`);
    throw new Error(`Plaintext API key(s) issued in this suite appeared in its output:\n${lines.join('\n')}`);
  }
});
