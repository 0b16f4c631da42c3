import {
  migrationsFor,
  type ApiKeyMigrationClass,
  type ApiKeyMigrationDatabase,
  type ApiKeyMigrationsOptions,
} from '../../../storage/migrations/index.js';
import {
  AddOwnerPoliciesMysql1796601600000,
  AddOwnerPoliciesPostgres1796601600000,
  AddOwnerPoliciesSqlite1796601600000,
} from './add-owner-policies.js';

export { AddOwnerPoliciesMigration } from './add-owner-policies.js';
export {
  AddOwnerPoliciesMysql1796601600000,
  AddOwnerPoliciesPostgres1796601600000,
  AddOwnerPoliciesSqlite1796601600000,
};

/**
 * The migration of the policy table (`<table>_owner_policies`, `api_key_owner_policies` for `api_keys`) on one
 * database. Add it after the core's, next to yours.
 * @example
 * migrations: [...apiKeyMigrations('postgres'), ...ownerPolicyMigrations('postgres'), ...yourMigrations]
 */
export function ownerPolicyMigrations(
  database: ApiKeyMigrationDatabase,
  options: ApiKeyMigrationsOptions = {},
): ApiKeyMigrationClass[] {
  return migrationsFor(
    {
      postgres: [AddOwnerPoliciesPostgres1796601600000],
      mysql: [AddOwnerPoliciesMysql1796601600000],
      mariadb: [AddOwnerPoliciesMysql1796601600000],
      'better-sqlite3': [AddOwnerPoliciesSqlite1796601600000],
      sqlite: [AddOwnerPoliciesSqlite1796601600000],
    },
    database,
    options,
  );
}
