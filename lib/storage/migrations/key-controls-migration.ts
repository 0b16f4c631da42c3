import { DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';
import { AddKeyColumnsMigration, keyMigrationName, type KeyColumnsNames } from './key-columns-migration.js';

/** The timestamp TypeORM orders this migration by (2026-11-27T00:00:00Z), after AddCredits. */
export const ADD_KEY_CONTROLS_TIMESTAMP = 1795737600000;

const PROPERTIES = ['disabledAt', 'disabledReason', 'allowedIps'] as const;

/** The escaped SQL names this migration touches on one connection. */
export type KeyControlsNames = KeyColumnsNames<(typeof PROPERTIES)[number]>;

/**
 * The fourth migration: reversible disabling (`disabledAt`, `disabledReason`)
 * and per-key IP allowlists (`allowedIps`, JSON text). Every column is
 * nullable, so existing keys keep working unchanged.
 */
export abstract class AddKeyControlsMigration extends AddKeyColumnsMigration<(typeof PROPERTIES)[number]> {
  readonly name: string = AddKeyControlsMigration.nameFor(DEFAULT_API_KEY_TABLE);
  protected readonly properties = PROPERTIES;

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    return keyMigrationName('AddKeyControls', tableName, ADD_KEY_CONTROLS_TIMESTAMP);
  }
}
