import type { CliCommandSpec, CliOptionSpec, CliProgramSpec } from './cli-args.js';
import { EXIT_CODES_HELP } from './exit-codes.js';

const scopes = (description: string): CliOptionSpec => ({
  name: 'scopes',
  value: '<a,b>',
  description: `${description}, comma-separated (may be empty: "")`,
  required: true,
});

/** The commands of the `nestjs-opaque-keys` CLI, as `--help` shows them (their actions are in cli-program.ts). */
export const CLI_COMMANDS = {
  issue: {
    name: 'issue',
    args: [],
    description:
      "issue a key in the app's key format (prefix, environment, lifetimes, tag, as the app recorded them " +
      'at start); prints the plaintext key once',
    options: [
      { name: 'name', value: '<name>', description: 'a name people recognise', required: true },
      scopes('scopes'),
      { name: 'owner', value: '<id>', description: 'owner id' },
      {
        name: 'environment',
        value: '<env>',
        description: "one of the app's environments (default: its first), e.g. live or test",
      },
      {
        name: 'expires-at',
        value: '<iso-date>',
        description: "expiry, e.g. 2030-01-01T00:00:00Z (default: the app's default lifetime)",
      },
    ],
  },
  list: {
    name: 'list',
    args: [],
    description: 'list keys, newest first',
    options: [
      { name: 'owner', value: '<id>', description: 'only this owner' },
      {
        name: 'status',
        value: '<state>',
        description:
          'only keys in this state: revoked, disabled, expired, used-up (no use left) or active; ' +
          'a key is in the first that holds',
      },
      { name: 'limit', value: '<n>', description: 'page size, 1 to 100', default: '50' },
      { name: 'offset', value: '<n>', description: 'rows to skip', default: '0' },
    ],
  },
  show: { name: 'show', args: ['id'], description: 'show one key', options: [] },
  rotate: {
    name: 'rotate',
    args: ['id'],
    description: 'replace a key by a successor (same prefix and environment); prints the new plaintext key once',
    options: [
      {
        name: 'grace-seconds',
        value: '<n>',
        description: 'keep the old key valid this long (default: revoke it now)',
        default: '0',
      },
    ],
  },
  revoke: {
    name: 'revoke',
    args: ['id'],
    description: 'revoke a key now',
    options: [{ name: 'reason', value: '<text>', description: 'why, kept with the key' }],
  },
  'update-scopes': {
    name: 'update-scopes',
    args: ['id'],
    description: "replace a key's scopes; the next request sees them",
    options: [scopes('the new scopes')],
  },
  import: {
    name: 'import',
    args: [],
    description:
      "import keys from another system's table, exported as JSON (an array, or one object per line), so their " +
      'holders keep their strings; idempotent (a re-run imports new rows only); prints every refused row. The ' +
      'app must list the same format in withImport() and have run importMigrations(). Exit 4 if a row was refused',
    options: [
      { name: 'from', value: '<source>', description: 'better-auth, drf or sha256-table', required: true },
      {
        name: 'file',
        value: '<rows.json>',
        description: "the source table's rows, its column names as keys",
        required: true,
      },
      {
        name: 'format',
        value: '<name>',
        description: "the legacy format's name in withImport() (default: the --from name)",
      },
      {
        name: 'hash',
        value: '<kind>',
        description: 'sha256-table: how it stored SHA-256 (sha256-hex, sha256-base64, sha256-base64url)',
        default: 'sha256-hex',
      },
      {
        name: 'scopes',
        value: '<a,b>',
        description: 'scopes of keys whose source has none (drf, a table without them)',
      },
      {
        name: 'owner-column',
        value: '<column>',
        description: 'the column holding the owner, where the source has one',
      },
      { name: 'environment', value: '<env>', description: "the environment the format's keys count as" },
    ],
  },
  doctor: {
    name: 'doctor',
    args: [],
    description:
      "check the database: tables, columns, the unique hash index, migrations run, the app's recorded key format " +
      'against --prefix and the keys in the table; prints each problem with its fix (exit 0 healthy, ' +
      '7 warnings, 6 errors, 5 no database)',
    options: [],
  },
} as const satisfies Record<string, CliCommandSpec>;

/** The program: global options and commands. */
export const CLI_PROGRAM: CliProgramSpec = {
  name: 'nestjs-opaque-keys',
  description:
    'Manage API keys in the database of a Nest app that uses nestjs-opaque-keys. New keys follow the key format ' +
    'the app records when it starts (API_KEY_TAG_SECRET: its keyTag secret, when it tags keys).',
  options: [
    {
      name: 'data-source',
      short: 'd',
      value: '<file>',
      description: 'module exporting the TypeORM DataSource (default export or "dataSource")',
      required: true,
      env: 'API_KEYS_DATA_SOURCE',
    },
    {
      name: 'prefix',
      value: '<prefix>',
      description:
        "the app's key prefix; needed only before the app has recorded its format (with environments the " +
        'whole prefix, e.g. sk_live)',
      env: 'API_KEY_PREFIX',
    },
    { name: 'table', value: '<name>', description: 'table holding the keys (default api_keys)', env: 'API_KEY_TABLE' },
    { name: 'json', description: 'print JSON for scripts instead of tables' },
  ],
  commands: Object.values(CLI_COMMANDS),
  epilogue: EXIT_CODES_HELP,
};
