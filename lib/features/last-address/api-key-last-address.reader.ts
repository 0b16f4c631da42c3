import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { asStoreUnavailable } from '../../api-key.errors.js';
import { ApiKeyDatabase } from '../../storage/api-key.database.js';
import {
  API_KEY_LAST_ADDRESS_ENTITY,
  apiKeyLastAddressEntityFor,
  type ApiKeyLastAddressColumns,
} from './api-key-last-address.entity.js';

/** Where and when a key was last used, as last written (up to one flush interval behind). */
export interface ApiKeyLastUse {
  /** The address (`203.0.113.9`), or its network with `truncate` (`203.0.113.0/24`). */
  readonly address: string;
  readonly usedAt: Date;
}

async function lastUseOf(
  dataSource: DataSource,
  entity: typeof ApiKeyLastAddressColumns,
  keyId: string,
): Promise<ApiKeyLastUse | null> {
  if (typeof keyId !== 'string' || keyId.length === 0 || keyId.length > 36) return null;
  try {
    const row = await dataSource.manager.findOneBy(entity, { keyId });
    return row ? { address: row.address, usedAt: new Date(row.usedAt) } : null;
  } catch (error) {
    throw asStoreUnavailable(error);
  }
}

/**
 * Reads where a key was last used from (`withLastAddress()`): `null` for a key never used since the feature
 * was on (or not yet flushed). It does not check who may see the key: look the key up with
 * `ApiKeyService.get(id, { actingAs })` first where that matters.
 * @example
 * const last = await lastAddress.of(record.id); // { address: '203.0.113.9', usedAt: Date } | null
 */
@Injectable()
export class ApiKeyLastAddress {
  constructor(
    private readonly db: ApiKeyDatabase,
    @Inject(API_KEY_LAST_ADDRESS_ENTITY) private readonly entity: typeof ApiKeyLastAddressColumns,
  ) {}

  /** The last use of `keyId`, or `null`. @throws ApiKeyStoreUnavailableError */
  of(keyId: string): Promise<ApiKeyLastUse | null> {
    return lastUseOf(this.db.dataSource, this.entity, keyId);
  }
}

/**
 * The last use of `keyId` read on any DataSource whose entities include the feature's
 * (`lastAddressEntities(tableName)`), outside a Nest app (the CLI): `undefined` when that table does not exist
 * (the app does not record addresses), `null` when the key has no row.
 * @throws ApiKeyStoreUnavailableError
 */
export async function readLastAddress(
  dataSource: DataSource,
  keyId: string,
  tableName?: string,
): Promise<ApiKeyLastUse | null | undefined> {
  const entity = apiKeyLastAddressEntityFor(tableName);
  if (!dataSource.hasMetadata(entity)) return undefined;
  const runner = dataSource.createQueryRunner();
  try {
    if (!(await runner.hasTable(dataSource.getMetadata(entity).tablePath))) return undefined;
  } catch (error) {
    throw asStoreUnavailable(error);
  } finally {
    await runner.release();
  }
  return lastUseOf(dataSource, entity, keyId);
}
