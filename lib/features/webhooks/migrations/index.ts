import {
  migrationsFor,
  type ApiKeyMigrationClass,
  type ApiKeyMigrationDatabase,
  type ApiKeyMigrationsOptions,
} from '../../../storage/migrations/index.js';
import {
  AddWebhooksMysql1795910400000,
  AddWebhooksPostgres1795910400000,
  AddWebhooksSqlite1795910400000,
} from './add-webhooks.js';

export { AddWebhooksMigration } from './add-webhooks.js';
export { AddWebhooksMysql1795910400000, AddWebhooksPostgres1795910400000, AddWebhooksSqlite1795910400000 };

/**
 * The migration of the webhook delivery table (`<table>_webhook_deliveries`, `api_key_webhook_deliveries` for
 * `api_keys`) on one database. Add it after the core's, next to yours.
 * @example
 * migrations: [...apiKeyMigrations('postgres'), ...webhookMigrations('postgres'), ...yourMigrations]
 */
export function webhookMigrations(
  database: ApiKeyMigrationDatabase,
  options: ApiKeyMigrationsOptions = {},
): ApiKeyMigrationClass[] {
  return migrationsFor(
    {
      postgres: [AddWebhooksPostgres1795910400000],
      mysql: [AddWebhooksMysql1795910400000],
      mariadb: [AddWebhooksMysql1795910400000],
      'better-sqlite3': [AddWebhooksSqlite1795910400000],
      sqlite: [AddWebhooksSqlite1795910400000],
    },
    database,
    options,
  );
}
