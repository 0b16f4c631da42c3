/** Options of {@link ListenerHeartbeat}. */
export interface ListenerHeartbeatOptions {
  /** Time from one answered probe to the next probe, in ms. */
  intervalMs: number;
  /** How long a probe may take before the connection counts as silent, in ms. */
  timeoutMs: number;
  /** One round trip on the listening connection (`SELECT 1`, Redis `PING`); resolves when it was answered. */
  probe: () => Promise<unknown>;
  /** Called once when a probe fails or times out; the heartbeat has stopped by then. */
  onMissed: (error: Error) => void;
}

/**
 * Checks that a listening connection still answers. TCP keepalive cannot tell
 * a live but silent peer (a proxy or load balancer that dropped the flow, a
 * partition) from an idle one, and a listener only ever reads, so nothing
 * else would notice: this sends a probe `intervalMs` after the previous one
 * was answered and reports a miss if the next one fails or has no answer
 * within `timeoutMs`. A silent connection is therefore noticed at most
 * `intervalMs + timeoutMs` after its last answered probe, which is the
 * longest a cache behind it serves rows a missed message should have dropped.
 *
 * One heartbeat per connection: {@link start} it once the connection listens,
 * {@link stop} it when the connection goes; after a miss it stays stopped.
 */
export class ListenerHeartbeat {
  private timer?: NodeJS.Timeout;
  /** Bumped by every start/stop, so a probe of an earlier round reports nothing. */
  private round = 0;

  constructor(private readonly options: ListenerHeartbeatOptions) {}

  /** Starts probing (the first probe goes out after `intervalMs`). Restarts if already running. */
  start(): void {
    this.stop();
    this.schedule(this.round);
  }

  /** Stops probing; a probe in flight is ignored. */
  stop(): void {
    this.round++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Whether a probe is scheduled or in flight. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  private schedule(round: number): void {
    this.timer = setTimeout(() => this.beat(round), this.options.intervalMs);
    this.timer.unref?.();
  }

  private beat(round: number): void {
    const { timeoutMs, probe } = this.options;
    // The timeout timer doubles as "running" while the probe is in flight.
    this.timer = setTimeout(
      () => this.miss(round, new Error(`no answer to the listener heartbeat within ${timeoutMs} ms`)),
      timeoutMs,
    );
    this.timer.unref?.();
    let answer: Promise<unknown>;
    try {
      answer = Promise.resolve(probe());
    } catch (error) {
      answer = Promise.reject(error as Error);
    }
    answer.then(
      () => {
        if (round !== this.round) return;
        clearTimeout(this.timer);
        this.schedule(round);
      },
      (error: Error) => this.miss(round, new Error(`listener heartbeat failed: ${error?.message ?? String(error)}`)),
    );
  }

  private miss(round: number, error: Error): void {
    if (round !== this.round) return;
    this.stop();
    this.options.onMissed(error);
  }
}
