import type { ApiKeyModuleOptions } from '../../api-key.options.js';
import { bodyLengthFor } from '../../key/key-format.js';
import { KeyTagger } from '../../key/key-tag.js';
import type { ApiKeyFormat, RecordedKeyFormat } from '../../storage/key-format.record.js';

/** The CLI's flags that choose the keys it issues. */
export interface KeyFormatFlags {
  /** `--prefix` (or `API_KEY_PREFIX`). */
  readonly prefix?: string;
  /** `issue --environment`. */
  readonly environment?: string;
  /** `API_KEY_TAG_SECRET`: the app's keyTag secret of the current version. */
  readonly tagSecret?: string;
}

/** How the CLI issues keys on this database: its own module options, and what it must refuse. */
export interface CliKeyFormat {
  /** The options of the CLI's `ApiKeyModule`: the app's recorded format, else the flags. */
  readonly options: ApiKeyModuleOptions;
  /** The environment `issue` asks for (`undefined`: the app's first, or none). */
  readonly environment?: string;
  /** Why `issue` must not mint a key, with the fix. */
  readonly issueRefusal?: string;
  /** Why no key may be minted at all (`issue` and `rotate`): the keyed tag. */
  readonly mintRefusal?: string;
  /** What the operator should know about a key issued without a recorded format (printed to stderr). */
  readonly notes: readonly string[];
  /** True when no format is recorded (the refusal then gains the prefixes of the keys in the table). */
  readonly unrecorded?: boolean;
}

/** A lifetime for people: `90 days`, `12 hours`, else ms. */
export function durationText(ms: number): string {
  for (const [unit, size] of [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size} ${unit}${ms === size ? '' : 's'}`;
  }
  return `${ms} ms`;
}

/** The keys a format issues, for messages: `"sk_live_..." and "sk_test_..."`. */
export function keysOf(format: ApiKeyFormat): string {
  const prefixes = format.environments.length
    ? format.environments.map((env) => `${format.prefix}_${env}`)
    : [format.prefix];
  return prefixes.map((prefix) => `"${prefix}_..."`).join(' and ');
}

/** A recorded format in one line, for `doctor` and the refusals. */
export function describeKeyFormat(format: ApiKeyFormat): string {
  const parts = [
    `keys ${keysOf(format)}`,
    `prefix "${format.prefix}"`,
    format.environments.length ? `environments ${format.environments.join(', ')}` : 'no environments',
    `${format.entropyBits}-bit bodies`,
    `default lifetime ${format.defaultLifetimeMs ? durationText(format.defaultLifetimeMs) : 'none'}`,
    `maximum lifetime ${format.maxLifetimeMs ? durationText(format.maxLifetimeMs) : 'none'}`,
    format.keyTag ? `keyed tag version "${format.keyTag.version}"` : 'no keyed tag',
  ];
  return parts.join(', ');
}

function environmentChoice(format: ApiKeyFormat): string {
  return format.environments.map((env) => `--environment ${env}`).join(' or ');
}

/** Holds the flags to the recorded format: the environment they ask for, or why they do not fit. */
function checkFlags(format: ApiKeyFormat, flags: KeyFormatFlags): { environment?: string; refusal?: string } {
  const envs = format.environments;
  let environment = flags.environment;
  if (flags.prefix !== undefined && flags.prefix !== format.prefix) {
    const named = envs.find((env) => flags.prefix === `${format.prefix}_${env}`);
    if (named !== undefined && environment !== undefined && environment !== named) {
      return {
        refusal: `--prefix ${flags.prefix} names the environment ${named}, --environment another: drop --prefix.`,
      };
    }
    if (named === undefined) {
      const choose = envs.length ? `, and choose the environment with ${environmentChoice(format)}` : '';
      return {
        refusal:
          `--prefix ${flags.prefix} is not this app's key format: it issues keys ${keysOf(format)}, and would reject ` +
          `a key "${flags.prefix}_..." as malformed. Drop --prefix (the CLI reads the app's format)${choose}.`,
      };
    }
    environment = named;
  }
  if (environment !== undefined && !envs.includes(environment)) {
    return {
      refusal: envs.length
        ? `--environment ${environment} is not one of the app's environments (${envs.join(', ')}): ` +
          `pass ${environmentChoice(format)}.`
        : `the app has no environments (its keys are ${keysOf(format)}): drop --environment ${environment}.`,
    };
  }
  return { environment };
}

/** The options of the keyed tag with the operator's secret, or why keys cannot be tagged. */
function tagOptions(
  tag: NonNullable<ApiKeyFormat['keyTag']>,
  format: ApiKeyFormat,
  secret: string | undefined,
): { keyTag?: ApiKeyModuleOptions['keyTag']; refusal?: string } {
  const version = JSON.stringify(tag.version);
  if (!secret) {
    const untagged = tag.acceptUntagged
      ? ' (it still accepts untagged keys, but only until acceptUntagged is off)'
      : '';
    return {
      refusal:
        `the app tags its keys (keyTag, version ${version}) and refuses keys without its tag${untagged}; this CLI ` +
        `has no tag secret. Set API_KEY_TAG_SECRET to the app's keyTag secret of version ${version} (in the ` +
        'environment, never on the command line) and run the command again.',
    };
  }
  const keyTag = { secrets: { [tag.version]: secret }, current: tag.version, acceptUntagged: tag.acceptUntagged };
  let check: string;
  try {
    check = new KeyTagger(keyTag, bodyLengthFor(format.entropyBits)).checkValue();
  } catch (error) {
    return { refusal: `API_KEY_TAG_SECRET: ${(error as Error).message}.` };
  }
  if (check !== tag.check) {
    return {
      refusal:
        `API_KEY_TAG_SECRET is not the app's keyTag secret of version ${version} (its check value differs from the ` +
        "one the app recorded): the app would refuse keys tagged with it as forged. Set it to the app's secret.",
    };
  }
  return { keyTag };
}

/**
 * How the CLI issues keys, from the format the app recorded at boot (see
 * `recordKeyFormat`) and the operator's flags: the app's prefix,
 * environments, lifetimes, entropy and tag, or a refusal naming the fix.
 * Without a recorded format only an explicit `--prefix` is trusted. Pure.
 */
export function resolveCliKeyFormat(
  recorded: RecordedKeyFormat | undefined,
  flags: KeyFormatFlags,
  eventsTable: string,
): CliKeyFormat {
  const base: ApiKeyModuleOptions = { lastUsedIntervalMs: 0, auditUseIntervalMs: 0, recordKeyFormat: false };
  if (recorded?.format) {
    const format = recorded.format;
    const { environment, refusal } = checkFlags(format, flags);
    const tag = format.keyTag ? tagOptions(format.keyTag, format, flags.tagSecret) : {};
    return {
      options: {
        ...base,
        prefix: format.prefix,
        environments: [...format.environments],
        entropyBits: format.entropyBits,
        defaultLifetimeMs: format.defaultLifetimeMs ?? undefined,
        maxLifetimeMs: format.maxLifetimeMs ?? undefined,
        maxKeysPerOwner: format.maxKeysPerOwner ?? undefined,
        keyTag: tag.keyTag,
      },
      environment,
      issueRefusal: refusal ?? tag.refusal,
      mintRefusal: tag.refusal,
      notes: [],
    };
  }
  if (recorded) return { options: base, issueRefusal: recorded.problem, mintRefusal: recorded.problem, notes: [] };
  const notes = [
    `no key format is recorded in ${eventsTable} (start the app once to record it): the CLI knows neither the ` +
      "app's lifetime policy nor its keyed tag, so this key expires only as --expires-at (or its predecessor) says " +
      'and carries no tag.',
  ];
  if (flags.prefix === undefined) {
    return {
      options: base,
      issueRefusal:
        `no key format is recorded in ${eventsTable}: the app records its prefix, environments and key lifetimes ` +
        'there when it starts, and has not yet started on this database with a version that does (or it sets ' +
        'recordKeyFormat: false). Without it the CLI cannot tell which keys the app accepts. Start the app once, ' +
        "or pass the app's whole key prefix: --prefix <prefix> (with environments, e.g. --prefix sk_live).",
      notes,
      unrecorded: true,
    };
  }
  const environments = flags.environment === undefined ? undefined : [flags.environment];
  return {
    options: { ...base, prefix: flags.prefix, environments },
    environment: flags.environment,
    notes,
    unrecorded: true,
  };
}
