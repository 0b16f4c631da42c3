import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { InstanceConfig } from './instance.js';

/** A running instance process (test/support/child/instance.ts). */
export interface InstanceProcess {
  port: number;
  child: ChildProcess;
  /** What it wrote to stderr so far (warnings, unhandled rejections). */
  stderr: string[];
  /** RSS (bytes) and pool size, from its `/__stats`. */
  stats(): Promise<{ rss: number; heap: number; pool: number; idle: number; cpuUs: number }>;
  stop(): Promise<void>;
}

/** Starts an instance process with this config and waits for its `READY <port>` (at most 90 s: it compiles first). */
export function startInstance(config: InstanceConfig, nice = 0): Promise<InstanceProcess> {
  const entry = resolve('test/support/child/instance.ts');
  const register = resolve('test/support/child/ts-register.mjs');
  const args = ['--import', register, entry];
  const command = nice > 0 ? 'nice' : process.execPath;
  const child = spawn(command, nice > 0 ? ['-n', String(nice), process.execPath, ...args] : args, {
    env: { ...process.env, INSTANCE_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`instance not ready in 90 s: ${stderr.join('')}`)), 90_000);
    child.once('exit', (code) => fail(new Error(`instance exited (${code}) before READY: ${stderr.join('')}`)));
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /READY (\d+)/.exec(out);
      if (!ready) return;
      clearTimeout(timer);
      const port = Number(ready[1]);
      done({
        port,
        child,
        stderr,
        async stats() {
          const response = await fetch(`http://127.0.0.1:${port}/__stats`);
          return (await response.json()) as { rss: number; heap: number; pool: number; idle: number; cpuUs: number };
        },
        stop: () =>
          new Promise<void>((stopped) => {
            if (child.exitCode !== null) return stopped();
            child.once('exit', () => stopped());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          }),
      });
    });
  });
}
