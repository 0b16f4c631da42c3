import type { FactoryProvider, InjectionToken, ValueProvider } from '@nestjs/common';

/** A feature's options given later, from other providers (e.g. `ConfigService`), as `forRootAsync` takes them. */
export interface ApiKeyFeatureOptionsFactory<T> {
  useFactory: (...args: any[]) => T | Promise<T>;
  inject?: InjectionToken[];
}

/** A feature's options: the options themselves, or a factory of them. */
export type ApiKeyFeatureOptionsInput<T> = T | ApiKeyFeatureOptionsFactory<T>;

function isFactory<T>(input: ApiKeyFeatureOptionsInput<T>): input is ApiKeyFeatureOptionsFactory<T> {
  return (
    typeof input === 'object' && input !== null && typeof (input as { useFactory?: unknown }).useFactory === 'function'
  );
}

/**
 * The provider of a feature's resolved options under `token`: resolved (defaults applied, values checked) at
 * once for given options, so a bad one fails where the module is defined; at boot for a factory's.
 */
export function featureOptionsProvider<T, R>(
  token: InjectionToken,
  input: ApiKeyFeatureOptionsInput<T>,
  resolve: (options: T) => R,
): ValueProvider<R> | FactoryProvider<Promise<R>> {
  if (!isFactory(input)) return { provide: token, useValue: resolve(input) };
  return {
    provide: token,
    useFactory: async (...args: unknown[]) => resolve(await input.useFactory(...args)),
    inject: input.inject ?? [],
  };
}
