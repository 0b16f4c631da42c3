import { describe, expect, it } from '@jest/globals';
import type { ValueProvider } from '@nestjs/common';
import { ApiKeyConfigurationError } from 'nestjs-opaque-keys';
import {
  API_KEY_ALERT_OPTIONS,
  withAlerts,
  type ApiKeyAlertOptions,
  type ResolvedAlertOptions,
} from 'nestjs-opaque-keys/alerts';

/** The checks of `withAlerts()` options about owners, run where the module is defined (before anything starts). */

const setup = { tableName: 'api_keys', dataSource: undefined, name: undefined };

/** The options `withAlerts(options)` resolves where the module is defined. */
function resolved(options: ApiKeyAlertOptions): ResolvedAlertOptions {
  const providers = withAlerts(options).providers!(setup) as ValueProvider[];
  return providers.find((provider) => provider.provide === API_KEY_ALERT_OPTIONS)!.useValue as ResolvedAlertOptions;
}

/** The error `withAlerts(options)` throws where the module is defined. */
function refusal(options: unknown): ApiKeyConfigurationError {
  try {
    resolved(options as ApiKeyAlertOptions);
  } catch (error) {
    return error as ApiKeyConfigurationError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('alert options: owner thresholds', () => {
  it('take owner thresholds alone, with the refusal window defaulted', () => {
    expect(resolved({ owners: { credits: { below: 500 } } })).toMatchObject({
      ownerCreditsBelow: 500,
      ownerRefusals: null,
      creditsBelow: null,
      refusals: null,
    });
    expect(resolved({ owners: { refusals: { moreThan: 50 } } }).ownerRefusals).toEqual({
      moreThan: 50,
      windowMs: 60_000,
    });
    expect(resolved({ uses: { below: 3 } })).toMatchObject({ ownerCreditsBelow: null, ownerRefusals: null });
  });

  it('hear verification outcomes only when refusals are counted, an owner threshold of refusals included', () => {
    expect(withAlerts({ owners: { credits: { below: 500 } } }).verificationHook).toBeUndefined();
    expect(withAlerts({ owners: { refusals: { moreThan: 50 } } }).verificationHook).toBeDefined();
    const factory = { useFactory: () => ({ owners: { credits: { below: 500 } } }) };
    expect(withAlerts(factory).verificationHook).toBeDefined(); // known at boot only
  });

  it.each([
    [{ owners: {} }, 'alerts', /owners\.credits\.below or owners\.refusals/],
    [{ owners: 'many' }, 'alerts.owners', /must be \{ credits\?, refusals\? \}/],
    [{ owners: null }, 'alerts.owners', /must be \{ credits\?, refusals\? \}/],
    [{ owners: { credits: 500 } }, 'alerts.owners.credits', /must be \{ below \}/],
    [{ owners: { credits: {} } }, 'alerts.owners.credits.below', /integer from 1/],
    [{ owners: { credits: { below: 0 } } }, 'alerts.owners.credits.below', /got 0/],
    [{ owners: { credits: { below: 2.5 } } }, 'alerts.owners.credits.below', /got 2.5/],
    [{ owners: { credits: { below: '500' } } }, 'alerts.owners.credits.below', /got 500/],
    [{ owners: { refusals: 5 } }, 'alerts.owners.refusals', /must be \{ moreThan, windowMs\? \}/],
    [{ owners: { refusals: { moreThan: 0 } } }, 'alerts.owners.refusals.moreThan', /got 0/],
    [{ owners: { refusals: { moreThan: 5, windowMs: 500 } } }, 'alerts.owners.refusals.windowMs', /got 500/],
    [
      { owners: { refusals: { moreThan: 5, windowMs: 10_000 } }, checkIntervalMs: 60_000 },
      'alerts.owners.refusals.windowMs',
      /at least alerts\.checkIntervalMs/,
    ],
  ])('refuse %j, naming %s', (options, option, message) => {
    const error = refusal(options);
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });
});
