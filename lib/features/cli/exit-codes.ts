import {
  ApiKeyConfigurationError,
  ApiKeyFormatError,
  ApiKeyNotFoundError,
  ApiKeyStateError,
  ApiKeyStoreUnavailableError,
  ApiKeyValidationError,
} from '../../api-key.errors.js';

/** The operator CLI's exit codes, stable for scripts. */
export const ExitCode = {
  ok: 0,
  usage: 1,
  notFound: 2,
  conflict: 3,
  validation: 4,
  databaseUnavailable: 5,
  /** The database lacks the key tables, columns or the hash index; `doctor` found such a problem. */
  schema: 6,
  /** `doctor` found warnings only (migrations not recorded, no key format recorded, keys with another prefix). */
  warnings: 7,
} as const;

/** One of {@link ExitCode}'s values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit-code table printed at the end of `--help`. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  usage: unknown command or option, missing argument, unreadable --data-source,
     or a key the app would reject (the error names the option to pass or drop)
  2  not found: no key with that id (whatever the id looks like)
  3  conflict: the key is already revoked or rotated
  4  validation: a bad name, scope, date or limit
  5  database unavailable: cannot connect or the query failed
  6  schema: the key tables, columns or the unique hash index are missing (run the migrations; see doctor)
  7  doctor: warnings only (migrations not recorded as run, no key format recorded,
     options or keys that do not fit the app's format)`;

/** An error the CLI reports itself, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
  }
}

/**
 * Maps a library error (or a CliError) to its exit code; anything else is a database failure. A
 * configuration error naming an option (a bad `--prefix` or `--table`) is a usage error, any other a schema one.
 */
export function exitCodeOf(error: unknown): ExitCodeValue {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ApiKeyConfigurationError) return error.option === undefined ? ExitCode.schema : ExitCode.usage;
  if (error instanceof ApiKeyNotFoundError) return ExitCode.notFound;
  if (error instanceof ApiKeyStateError) return ExitCode.conflict;
  if (error instanceof ApiKeyValidationError || error instanceof ApiKeyFormatError) return ExitCode.validation;
  if (error instanceof ApiKeyStoreUnavailableError) return ExitCode.databaseUnavailable;
  return ExitCode.databaseUnavailable;
}
