import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { JwtService } from '@nestjs/jwt';
import { DataSource } from 'typeorm';
import { apiKeyEntities } from '../lib/index.js';
import {
  KEY_TAG_LENGTH,
  KeyTagger,
  bodyLengthFor,
  DEFAULT_ENTROPY_BITS,
  generateApiKey,
  hashApiKey,
  hintOf,
  parseApiKey,
  randomBase62,
} from '../lib/key/index.js';
import {
  DATA_DIR,
  JWT_SECRET,
  KEY_TAG,
  KEYS_IN_ROTATION,
  MARIADB_URL,
  POSTGRES_URL,
  PREFIX,
  ROWS,
  SCOPE,
  SERVER_DATABASE,
  dataSourceOptions,
  tableFor,
  type BenchDatabase,
  type TableSize,
} from './config.js';

const BATCH = 1_000;

/** Issues a key as the library would: with the bench's keyed tag on a tagged table. */
function issueKey(size: TableSize): string {
  if (size !== '1k-tagged') return generateApiKey({ prefix: PREFIX });
  const tagger = new KeyTagger(KEY_TAG, bodyLengthFor(DEFAULT_ENTROPY_BITS));
  return generateApiKey({ prefix: PREFIX, tag: (head) => tagger.tag(head) });
}
const COLUMNS = [
  'id',
  'name',
  'ownerId',
  'hint',
  'hash',
  'scopes',
  'metadata',
  'createdAt',
  'expiresAt',
  'revokedAt',
  'revokedReason',
  'lastUsedAt',
  'replacedById',
] as const;

/** Creates the bench's own database on a server (the tests own, and drop, `test`). */
async function ensureServerDatabase(db: Exclude<BenchDatabase, 'sqlite'>): Promise<void> {
  const admin = new DataSource(
    db === 'postgres'
      ? { type: 'postgres', url: `${POSTGRES_URL}/postgres` }
      : { type: 'mariadb', url: `${MARIADB_URL}/mysql` },
  );
  await admin.initialize();
  try {
    if (db === 'postgres') {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [SERVER_DATABASE]);
      if (found.length === 0) await admin.query(`CREATE DATABASE ${SERVER_DATABASE}`);
    } else {
      await admin.query(`CREATE DATABASE IF NOT EXISTS ${SERVER_DATABASE}`);
    }
  } finally {
    await admin.destroy();
  }
}

/** An SQL literal of a value already converted by the driver. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') return String(value);
  if (value instanceof Date) return `'${value.toISOString().replace('T', ' ').replace('Z', '')}'`;
  return `'${String(value).replace(/'/g, "''")}'`;
}

/**
 * Fills `api_keys_<size>` with `ROWS[size]` valid rows by multi-row INSERTs in
 * one transaction, and writes the plaintext of `KEYS_IN_ROTATION` of them
 * (spread evenly through the table) to `<db>-<size>.keys`. Skipped when the
 * table already holds exactly that and the key file matches.
 */
export async function seedKeys(
  db: BenchDatabase,
  size: TableSize,
  log: (line: string) => void = console.log,
): Promise<void> {
  if (db !== 'sqlite') await ensureServerDatabase(db);
  const rows = ROWS[size];
  const keysFile = `${DATA_DIR}/${db}-${size}.keys`;
  // Both tables the library reads (keys and their audit events), created or brought up to date by synchronize.
  const entities = apiKeyEntities(tableFor(size));
  const entity = entities[0];
  const dataSource = new DataSource({ ...dataSourceOptions(db, size), entities, synchronize: true });
  await dataSource.initialize();
  try {
    const table = dataSource.driver.escape(tableFor(size));
    const [{ count }] = await dataSource.query(`SELECT COUNT(*) AS count FROM ${table}`);
    if (Number(count) === rows && existsSync(keysFile)) {
      const sample = readFileSync(keysFile, 'utf8').trim().split('\n')[0];
      const hashColumn = dataSource.driver.escape('hash');
      const placeholder = db === 'postgres' ? '$1' : '?';
      const found = await dataSource.query(`SELECT id FROM ${table} WHERE ${hashColumn} = ${placeholder}`, [
        hashApiKey(sample),
      ]);
      if (found.length === 1) return;
    }
    log(`seeding ${rows} keys into ${db} ${tableFor(size)}...`);
    const started = Date.now();
    const metadata = dataSource.getMetadata(entity);
    const columns = COLUMNS.map((name) => metadata.findColumnWithPropertyName(name)!);
    const head = `INSERT INTO ${table} (${columns.map((c) => dataSource.driver.escape(c.databaseName)).join(', ')}) VALUES `;
    const known: string[] = [];
    const every = Math.floor(rows / KEYS_IN_ROTATION);
    const createdAt = new Date();
    await dataSource.transaction(async (em) => {
      await em.query(`DELETE FROM ${table}`);
      for (let start = 0; start < rows; start += BATCH) {
        const values: string[] = [];
        for (let i = start; i < Math.min(rows, start + BATCH); i++) {
          // Every row is a real key's row; only the plaintext of the ones in rotation is kept.
          const key = i % every === 0 && known.length < KEYS_IN_ROTATION ? issueKey(size) : undefined;
          if (key) known.push(key);
          const hash = key ? hashApiKey(key) : randomBytes(32).toString('hex');
          const row: Record<string, unknown> = {
            id: randomUUID(),
            name: `bench key ${i}`,
            ownerId: `owner-${i % 1000}`,
            hint: key ? hintOf(parseApiKey(key)) : `${PREFIX}_${hash.slice(0, 4)}`,
            hash,
            scopes: [SCOPE],
            metadata: null,
            createdAt,
            expiresAt: null,
            revokedAt: null,
            revokedReason: null,
            lastUsedAt: null,
            replacedById: null,
          };
          values.push(
            `(${columns.map((c) => literal(dataSource.driver.preparePersistentValue(row[c.propertyName], c))).join(', ')})`,
          );
        }
        await em.query(head + values.join(', '));
      }
    });
    writeFileSync(keysFile, known.join('\n') + '\n');
    log(`seeded ${rows} keys into ${db} ${tableFor(size)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Signs the JWTs of the JWT variants (one per key in rotation), the bare
 * route's dummy credentials and the flood variants' forged keys (as many as
 * the valid keys in rotation, so the load generator does the same work): well-formed,
 * valid CRC32 checksum, random body, in no table (`forged-tagged.keys`: of the
 * tagged length, version `1`, a random MAC).
 */
export function writeStaticCredentials(): void {
  const jwt = new JwtService({ secret: JWT_SECRET });
  const tokens = Array.from({ length: KEYS_IN_ROTATION }, (_, i) =>
    jwt.sign({ sub: `key-${i}`, scopes: [SCOPE] }, { algorithm: 'HS256', expiresIn: '7d' }),
  );
  writeFileSync(`${DATA_DIR}/jwt.keys`, tokens.join('\n') + '\n');
  const bare = Array.from({ length: KEYS_IN_ROTATION }, () => generateApiKey({ prefix: PREFIX }));
  writeFileSync(`${DATA_DIR}/bare.keys`, bare.join('\n') + '\n');
  const forged = Array.from({ length: KEYS_IN_ROTATION }, () => generateApiKey({ prefix: PREFIX }));
  writeFileSync(`${DATA_DIR}/forged.keys`, forged.join('\n') + '\n');
  const randomTag = () => KEY_TAG.current + randomBase62(KEY_TAG_LENGTH - 1);
  const forgedTagged = Array.from({ length: KEYS_IN_ROTATION }, () =>
    generateApiKey({ prefix: PREFIX, tag: randomTag }),
  );
  writeFileSync(`${DATA_DIR}/forged-tagged.keys`, forgedTagged.join('\n') + '\n');
}
