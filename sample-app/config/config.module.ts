import { Global, Module } from '@nestjs/common';
import { SampleAppConfig } from './sample-app.config.js';

/** Provides {@link SampleAppConfig}, read from the environment when the app starts, to every module. */
@Global()
@Module({
  providers: [{ provide: SampleAppConfig, useFactory: () => SampleAppConfig.fromEnv() }],
  exports: [SampleAppConfig],
})
export class ConfigModule {}
