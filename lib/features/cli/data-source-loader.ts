import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DataSourceOptions } from 'typeorm';
import { CliError, ExitCode } from './exit-codes.js';

/**
 * Loads the host's TypeORM connection options from a module file, as the
 * TypeORM CLI's `-d` does: the module default-exports, or exports as
 * `dataSource`, a `DataSource` (or its options). Only the connection is used:
 * the CLI registers the key entity itself and never synchronizes or migrates.
 * @throws CliError (usage) when the file cannot be loaded or exports no DataSource
 */
export async function loadDataSourceOptions(file: string): Promise<DataSourceOptions> {
  const url = pathToFileURL(isAbsolute(file) ? file : resolve(process.cwd(), file)).href;
  let exported: Record<string, any>;
  try {
    exported = await import(url);
  } catch (error) {
    throw new CliError(`cannot load --data-source ${file}: ${(error as Error).message}`, ExitCode.usage);
  }
  const candidate = exported.dataSource ?? exported.default?.dataSource ?? exported.default;
  const options = candidate?.options ?? candidate;
  if (!options || typeof options !== 'object' || typeof options.type !== 'string') {
    throw new CliError(
      `--data-source ${file} must export a TypeORM DataSource as default or as "dataSource"`,
      ExitCode.usage,
    );
  }
  return options as DataSourceOptions;
}
