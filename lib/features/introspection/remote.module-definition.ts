import { ConfigurableModuleBuilder } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from '../../http/api-key.guard.js';
import type { ApiKeyRemoteModuleOptions } from './remote.options.js';

/** Static options of `ApiKeyRemoteModule`, fixed when the module is defined. */
export interface ApiKeyRemoteModuleExtras {
  /** Register the module globally so `@UseGuards(ApiKeyGuard)` works in every module. Default `true`. */
  isGlobal?: boolean;
  /** Install `ApiKeyGuard` as a global guard (`APP_GUARD`); `@Public()` opts routes out. Default `false`. */
  globalGuard?: boolean;
}

/** @internal Built by Nest's ConfigurableModuleBuilder: `forRoot` / `forRootAsync`. */
export const { ConfigurableModuleClass: RemoteModuleClass, MODULE_OPTIONS_TOKEN: REMOTE_MODULE_OPTIONS } =
  new ConfigurableModuleBuilder<ApiKeyRemoteModuleOptions>({ moduleName: 'ApiKeyRemote' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createApiKeyRemoteOptions')
    .setExtras<ApiKeyRemoteModuleExtras>({ isGlobal: true, globalGuard: false }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal ?? true,
      providers: [
        ...(definition.providers ?? []),
        ...(extras.globalGuard ? [{ provide: APP_GUARD, useExisting: ApiKeyGuard }] : []),
      ],
    }))
    .build();
