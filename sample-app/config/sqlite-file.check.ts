import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';

/**
 * Refuses a SQLite file whose key table was made by `synchronize` (as the
 * sample did before it ran migrations): the first migration would fail on the
 * existing table with a bare "already exists". The message says what to do.
 * A missing or empty file, or one with the migrations recorded, passes.
 * @throws Error naming the file and the two ways out
 */
export function assertNotSynchronized(path: string): void {
  if (path === ':memory:' || !existsSync(path)) return;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = new Set(
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((row) => (row as { name: string }).name),
    );
    if (!tables.has('api_keys') || tables.has('migrations')) return;
  } finally {
    db.close();
  }
  throw new Error(
    `${path} holds keys made by an older sample app (synchronize, no migrations recorded). ` +
      'Delete the file (or its folder, ./data/ by default) to start over, or mark the migrations as run: ' +
      'docs/production-databases.md, "Moving from synchronize to migrations".',
  );
}
