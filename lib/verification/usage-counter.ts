import { Inject, Injectable } from '@nestjs/common';
import { MoreThan, type DataSource } from 'typeorm';
import { API_KEY_DATA_SOURCE, API_KEY_ENTITY } from '../api-key.constants.js';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { asStoreUnavailable } from '../api-key.errors.js';

/**
 * Takes uses of keys that have a use limit, atomically: one conditional
 * `UPDATE ... SET remainingUses = remainingUses - 1 WHERE id = ? AND
 * remainingUses > 0`, so concurrent requests never take more uses than there
 * are, on any database. Keys without a limit never get here.
 */
@Injectable()
export class ApiKeyUsageCounter {
  private decrement?: string;

  constructor(
    @Inject(API_KEY_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(API_KEY_ENTITY) private readonly entity: typeof ApiKeyColumns,
  ) {}

  /** True when a use was left and is now taken. */
  async take(id: string): Promise<boolean> {
    this.decrement ??= this.escapedColumn('remainingUses') + ' - 1';
    const decrement = this.decrement;
    try {
      const result = await this.dataSource
        .createQueryBuilder()
        .update(this.entity)
        .set({ remainingUses: () => decrement })
        .where({ id, remainingUses: MoreThan(0) })
        .execute();
      return result.affected === 1;
    } catch (cause) {
      throw asStoreUnavailable(cause);
    }
  }

  private escapedColumn(property: string): string {
    const column = this.dataSource.getMetadata(this.entity).findColumnWithPropertyName(property)!;
    return this.dataSource.driver.escape(column.databaseName);
  }
}
