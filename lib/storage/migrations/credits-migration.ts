import { DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';
import { AddKeyColumnsMigration, keyMigrationName, type KeyColumnsNames } from './key-columns-migration.js';

/** The timestamp TypeORM orders this migration by (2026-11-26T00:00:00Z), after AddKeyPolicies. */
export const ADD_CREDITS_TIMESTAMP = 1795651200000;

const PROPERTIES = ['refillAmount', 'refillIntervalMs', 'refilledAtMs'] as const;

/** The escaped SQL names this migration touches on one connection. */
export type CreditsNames = KeyColumnsNames<(typeof PROPERTIES)[number]>;

/**
 * The third migration: credit refills (`refillAmount`, `refillIntervalMs`,
 * `refilledAtMs`) next to the balance AddKeyPolicies added (`remainingUses`).
 * Every column is nullable, so existing keys keep working unchanged.
 */
export abstract class AddCreditsMigration extends AddKeyColumnsMigration<(typeof PROPERTIES)[number]> {
  readonly name: string = AddCreditsMigration.nameFor(DEFAULT_API_KEY_TABLE);
  protected readonly properties = PROPERTIES;

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    return keyMigrationName('AddCredits', tableName, ADD_CREDITS_TIMESTAMP);
  }
}
