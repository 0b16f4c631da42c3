import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/**
 * A private Redis server (redis-server, nothing on disk) that a suite may stop and start again on the same
 * port, so the shared Redis on 6379 is never touched. Fails saying what to install when there is none.
 */
export class PrivateRedis {
  private process?: ChildProcess;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (spawnSync('redis-server', ['--version']).error)
      throw new Error('this suite starts its own Redis: install redis-server (apt-get install redis-server)');
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    for (let i = 0; ; i++) {
      try {
        await client.connect();
        await client.ping();
        break;
      } catch {
        if (i > 100) throw new Error(`redis-server did not start on ${this.port}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    client.disconnect();
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });
  }
}
