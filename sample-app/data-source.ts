import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './config/database.options.js';
import { SampleAppConfig } from './config/sample-app.config.js';

/**
 * The sample app's database as a TypeORM DataSource, for command-line tools
 * (built to `build/sample-app/data-source.js` by `npm start`):
 *
 * - the operator CLI: `node dist/features/cli/main.js -d build/sample-app/data-source.js issue ...`
 *   (`npx nestjs-opaque-keys -d ...` in an app that installed the package);
 * - the TypeORM CLI: `npx typeorm migration:run -d build/sample-app/data-source.js`.
 *
 * It reads `DATABASE_PATH` / `DATABASE_URL` as the app does (relative paths
 * from the working directory), so run the tools where you run the app.
 */
export default new DataSource(dataSourceOptions(SampleAppConfig.fromEnv()));
