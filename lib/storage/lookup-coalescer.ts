/**
 * Lets concurrent lookups of the same key share one in-flight promise, so a
 * burst of requests carrying one API key costs one database read.
 *
 * Only work in flight is shared: the entry is dropped the moment its promise
 * settles (fulfilled or rejected), so a lookup that starts afterwards always
 * reads the database again. Nothing is cached.
 */
export class LookupCoalescer<K, V> {
  private readonly inFlight = new Map<K, Promise<V>>();

  /** The pending lookup of `key` if there is one, else `load()`, shared until it settles. */
  run(key: K, load: () => Promise<V>): Promise<V> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = load().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }
}
