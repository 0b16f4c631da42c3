import { Logger } from '@nestjs/common';
import { SampleAppConfig } from './config/sample-app.config.js';
import { createSampleApp } from './sample-app.js';

/** Boots the sample app on `PORT` (default 3000). */
const app = await createSampleApp();
const config = app.get(SampleAppConfig);
await app.listen(config.port);
new Logger('SampleApp').log(`listening on ${config.baseUrl} (database ${config.databasePath})`);
new Logger('SampleApp').log(`admin console: ${config.baseUrl}/admin (sign in with a keys:admin key)`);
