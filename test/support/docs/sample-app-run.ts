import { jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { join } from 'node:path';
import { createSampleApp } from '../../../sample-app/sample-app.js';
import { LogCapture } from '../log-capture.js';

const SAMPLE_KEY = /\bsk_(?:live|test)_[0-9A-Za-z]{40,}/;

/**
 * The sample app started as `npm start` starts it, on a fresh SQLite file in
 * `dir/data/`, listening on a free port: what it printed on first start (the
 * banner), the admin key in it, and its URL. Its Nest log goes to a
 * LogCapture, which the leak guard searches for keys.
 */
export class SampleAppRun {
  private constructor(
    private readonly app: INestApplication,
    /** What the app wrote to stdout while starting. */
    readonly printed: string,
    readonly databasePath: string,
    readonly logs: LogCapture,
  ) {}

  /** The admin key the banner printed ('' if none). */
  get adminKey(): string {
    return this.printed.match(SAMPLE_KEY)?.[0] ?? '';
  }

  /** Where it listens, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    const address = this.app.getHttpServer().address() as { port: number };
    return `http://127.0.0.1:${address.port}`;
  }

  /**
   * Starts it with `DATABASE_PATH` in `dir` and `PORT=3000` for the text it
   * prints (the banner's curl line), but listening on a free port.
   */
  static async start(dir: string): Promise<SampleAppRun> {
    const databasePath = join(dir, 'data', 'sample.sqlite');
    const saved = { DATABASE_PATH: process.env.DATABASE_PATH, PORT: process.env.PORT };
    process.env.DATABASE_PATH = databasePath;
    process.env.PORT = '3000';
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const logs = new LogCapture();
    try {
      const app = await createSampleApp({ logger: logs });
      await app.listen(0);
      return new SampleAppRun(app, write.mock.calls.map(([chunk]) => String(chunk)).join(''), databasePath, logs);
    } finally {
      write.mockRestore();
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
