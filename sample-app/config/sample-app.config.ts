import { resolve } from 'node:path';

/** Where the sample app keeps its SQLite file unless `DATABASE_PATH` says otherwise. */
export const DEFAULT_DATABASE_PATH = './data/sample.sqlite';
/** The port the sample app listens on unless `PORT` says otherwise. */
export const DEFAULT_PORT = 3000;

/**
 * The sample app's settings, read once from the environment:
 * - `PORT`: the HTTP port (default 3000; `0` picks a free one).
 * - `DATABASE_PATH`: the SQLite file (default `./data/sample.sqlite`, relative to the working directory).
 * - `DATABASE_URL`: a PostgreSQL (`postgres://`) or MySQL/MariaDB (`mysql://`, `mariadb://`) server instead of the
 *   file; the tables are then made by the library's migrations, so several instances can share it.
 */
export class SampleAppConfig {
  constructor(
    readonly port: number,
    readonly databasePath: string,
    readonly databaseUrl?: string,
  ) {}

  /**
   * Reads and checks the settings.
   * @throws TypeError when `PORT` is not a port number
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): SampleAppConfig {
    const rawPort = env.PORT?.trim() || String(DEFAULT_PORT);
    const port = Number(rawPort);
    if (!/^\d+$/.test(rawPort) || port > 65535)
      throw new TypeError(`PORT must be a port number from 0 to 65535; got ${JSON.stringify(env.PORT)}`);
    const path = env.DATABASE_PATH?.trim() || DEFAULT_DATABASE_PATH;
    const url = env.DATABASE_URL?.trim() || undefined;
    if (url && !/^(postgres|postgresql|mysql|mariadb):\/\//.test(url))
      throw new TypeError('DATABASE_URL must start with postgres://, mysql:// or mariadb://');
    return new SampleAppConfig(port, path === ':memory:' ? path : resolve(path), url);
  }

  /** The base URL to show people, e.g. `http://localhost:3000`. */
  get baseUrl(): string {
    return `http://localhost:${this.port}`;
  }
}
