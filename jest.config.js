/**
 * Jest runs natively as ESM (`node --experimental-vm-modules`), with @swc/jest
 * compiling TypeScript (legacy decorators + decorator metadata, as Nest needs).
 * DB_TYPE=postgres|mariadb points the same suites at a real server.
 * @type {import('jest').Config}
 */
const serverDatabase = (process.env.DB_TYPE ?? 'sqlite') !== 'sqlite';

export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  // Two suites run in the SQLite run only: the CLI suite always works on its own
  // SQLite file (and compiles the library, about a minute), and the outage suite
  // closes and reopens an SQLite file (on PostgreSQL, test:faults stops the server).
  testPathIgnorePatterns: [
    '/node_modules/',
    ...(serverDatabase ? ['/test/e2e/cli\\.e2e-spec\\.ts$', '/test/e2e/failure\\.e2e-spec\\.ts$'] : []),
    // TypeORM replication needs a server database (better-sqlite3 has none).
    ...(serverDatabase ? [] : ['/test/e2e/replication\\.e2e-spec\\.ts$']),
  ],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2023',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        },
        module: { type: 'es6' },
      },
    ],
  },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^nestjs-opaque-keys$': '<rootDir>/lib/index.ts',
    '^nestjs-opaque-keys/([a-z-]+)$': '<rootDir>/lib/features/$1/index.ts',
  },
  testTimeout: 30000,
  // Every suite: fail it if a plaintext key it issued shows up in its output or logs.
  setupFilesAfterEnv: ['<rootDir>/test/support/leak-guard.ts'],
  // On PostgreSQL / MariaDB: check the server and create one private schema per worker, dropped at the end.
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
};
