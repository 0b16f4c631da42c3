import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RateLimitStorage } from 'nestjs-opaque-keys';

type IncrementResult = Awaited<ReturnType<RateLimitStorage['increment']>>;

/**
 * @nestjs/throttler's real ThrottlerStorageService, hosted in a child Node
 * process (see throttler-storage.child.cjs) and reached over IPC. Jest's
 * module loader on Node 20 cannot load @nestjs/throttler (CommonJS requiring
 * the ESM-only @nestjs/common); plain Node can, and does so for apps.
 */
export class ThrottlerStorageProcess implements RateLimitStorage {
  private readonly pending = new Map<number, { resolve(value: IncrementResult): void; reject(error: Error): void }>();
  private nextId = 0;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { id?: number; result?: IncrementResult; error?: string }) => {
      const waiter = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id!);
      if (message.error) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result!);
    });
  }

  /** Starts the child and waits until its storage is ready. */
  static async start(): Promise<ThrottlerStorageProcess> {
    const child = fork(fileURLToPath(new URL('./throttler-storage.child.cjs', import.meta.url)), { stdio: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`throttler storage process exited with ${code}`)));
    });
    return new ThrottlerStorageProcess(child);
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<IncrementResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, args: [key, ttl, limit, blockDuration, throttlerName] });
    });
  }

  /** Stops the child. */
  stop(): void {
    this.child.disconnect();
  }
}
