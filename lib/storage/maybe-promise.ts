/**
 * A value now, or a promise of it. better-sqlite3 answers synchronously, and
 * so does a cache hit: passing such answers on without wrapping them in a
 * promise lets the guard return a plain boolean, which Nest's guard consumer
 * uses without awaiting (no microtask hops on the request path).
 */
export type MaybePromise<T> = T | Promise<T>;

/** True when `value` is a promise (any thenable). */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** `fn(value)` now when the value is there, else once it arrives. */
export function thenApply<T, R>(value: MaybePromise<T>, fn: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isPromise(value) ? value.then(fn) : fn(value);
}
