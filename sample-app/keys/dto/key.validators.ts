import { ValidateBy, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { isValidScope } from 'nestjs-opaque-keys';

const SCOPE_SYNTAX = 'segments of letters, digits, "_", "." or "-" joined by ":", optionally ending in ":*", or "*"';

/**
 * Every entry of the array is a scope the library accepts (`orders:read`,
 * `orders:*`, `*`). The message names the first bad entry.
 */
export function IsApiKeyScopes(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isApiKeyScopes',
      validator: {
        validate: (value: unknown) => Array.isArray(value) && value.every(isValidScope),
        defaultMessage: ({ property, value }: ValidationArguments) => {
          const bad = Array.isArray(value) ? value.find((scope) => !isValidScope(scope)) : value;
          return `${property} contains an invalid scope ${JSON.stringify(bad)}: use ${SCOPE_SYNTAX}`;
        },
      },
    },
    options,
  );
}

/** The value is an ISO 8601 date-time with a time zone, strictly in the future. */
export function IsFutureIsoDateTime(options?: ValidationOptions): PropertyDecorator {
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;
  return ValidateBy(
    {
      name: 'isFutureIsoDateTime',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && iso.test(value) && Date.parse(value) > Date.now(),
        defaultMessage: ({ property, value }: ValidationArguments) =>
          typeof value === 'string' && iso.test(value) && !Number.isNaN(Date.parse(value))
            ? `${property} must be in the future`
            : `${property} must be an ISO 8601 date-time with a time zone, e.g. 2030-01-31T12:00:00Z`,
      },
    },
    options,
  );
}
