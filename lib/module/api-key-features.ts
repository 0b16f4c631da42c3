import type { InjectionToken, Provider } from '@nestjs/common';
import { API_KEY_CHANGE_HOOKS, API_KEY_VERIFICATION_HOOKS } from '../api-key.constants.js';
import { ApiKeyConfigurationError } from '../api-key.errors.js';
import type { ApiKeyChangeHook } from '../lifecycle/change-hook.js';
import type { ApiKeyVerificationHook } from '../verification/verification-hook.js';
import type { ApiKeyFeature, ApiKeyFeatureEntity, ApiKeySetup } from './api-key-feature.js';

/** Checks the `features` option: an array of feature objects, each name once. */
export function validateFeatures(features: unknown): readonly ApiKeyFeature[] {
  if (features === undefined) return [];
  if (!Array.isArray(features))
    throw new ApiKeyConfigurationError('features must be an array, e.g. features: [withUsage()]', 'features');
  const names = new Set<string>();
  features.forEach((feature: Partial<ApiKeyFeature> | null, index) => {
    if (typeof feature?.name !== 'string' || feature.name === '')
      throw new ApiKeyConfigurationError(
        `features[${index}] is not a feature: pass what a feature's function returns, e.g. withUsage()`,
        `features[${index}]`,
      );
    if (names.has(feature.name))
      throw new ApiKeyConfigurationError(`features lists ${feature.name} twice`, `features[${index}]`);
    names.add(feature.name);
  });
  return features as ApiKeyFeature[];
}

/** Every table the features of a setup bring. */
export function featureEntities(features: readonly ApiKeyFeature[], setup: ApiKeySetup): ApiKeyFeatureEntity[] {
  return features.flatMap((feature) => feature.tables?.entities(setup.tableName) ?? []);
}

/**
 * The providers the features add to a setup: their own, and their change and verification hooks, resolved.
 * Nothing at all for a setup without features. (Their tables are checked by the setup's `ApiKeyDatabase`.)
 */
export function featureProviders(features: readonly ApiKeyFeature[], setup: ApiKeySetup): Provider[] {
  if (features.length === 0) return [];
  const change = features.flatMap((feature) => (feature.changeHook ? [feature.changeHook] : []));
  const verification = features.flatMap((feature) => (feature.verificationHook ? [feature.verificationHook] : []));
  const hooks: Provider[] = [
    {
      provide: API_KEY_CHANGE_HOOKS,
      useFactory: (...found: ApiKeyChangeHook[]) => Object.freeze(found),
      inject: change as InjectionToken[],
    },
    {
      provide: API_KEY_VERIFICATION_HOOKS,
      useFactory: (...found: ApiKeyVerificationHook[]) => Object.freeze(found),
      inject: verification as InjectionToken[],
    },
  ];
  return [...features.flatMap((feature) => feature.providers?.(setup) ?? []), ...hooks];
}

/**
 * What the features of an unnamed setup export: theirs, and the hooks (a guard bound with `@UseGuards` in
 * another module is built there, and must find them).
 */
export function featureExports(features: readonly ApiKeyFeature[]): InjectionToken[] {
  if (features.length === 0) return [];
  return [
    API_KEY_CHANGE_HOOKS,
    API_KEY_VERIFICATION_HOOKS,
    ...features.flatMap((feature) => [...(feature.exports ?? [])]),
  ];
}
