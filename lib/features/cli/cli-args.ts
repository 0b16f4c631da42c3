import { parseArgs } from 'node:util';

/** One option of the CLI or of a command. */
export interface CliOptionSpec {
  /** The long name without dashes: `data-source`. */
  readonly name: string;
  /** A one-letter alias: `d` for `-d`. */
  readonly short?: string;
  /** The value's placeholder, e.g. `<file>`; none for a flag. */
  readonly value?: string;
  readonly description: string;
  readonly required?: boolean;
  readonly default?: string;
  /** The environment variable read when the option is not given (an empty one counts as not set). */
  readonly env?: string;
}

/** One command: its name, required arguments and options. */
export interface CliCommandSpec {
  readonly name: string;
  /** Required positional arguments, in order: `['id']`. */
  readonly args: readonly string[];
  readonly description: string;
  readonly options: readonly CliOptionSpec[];
}

/** The program: its global options (before or after the command) and commands. */
export interface CliProgramSpec {
  readonly name: string;
  readonly description: string;
  readonly options: readonly CliOptionSpec[];
  readonly commands: readonly CliCommandSpec[];
  /** Printed at the end of the program's help (the exit codes). */
  readonly epilogue: string;
}

/** What the command line asks for: a command with its values, or help. */
export type CommandLine =
  | { readonly kind: 'help'; readonly command?: CliCommandSpec }
  | {
      readonly kind: 'run';
      readonly command: CliCommandSpec;
      /** Option values by long name, after the environment and defaults. */
      readonly values: Readonly<Record<string, string | boolean | undefined>>;
      readonly args: readonly string[];
    };

/** A usage error (exit 1), with the help to print after it. */
export class CliUsageError extends Error {
  constructor(
    message: string,
    readonly command?: CliCommandSpec,
  ) {
    super(message);
  }
}

const HELP: CliOptionSpec = { name: 'help', short: 'h', description: 'display help for command' };

const flagOf = (option: CliOptionSpec) =>
  `${option.short ? `-${option.short}, ` : ''}--${option.name}${option.value ? ` ${option.value}` : ''}`;

/**
 * `args` with every option that takes a value joined to it (`--name=x`,
 * short ones as long ones), so a value may start with a dash (`--offset -1`)
 * as with any option parser that knows which options take values. Stops at `--`.
 */
function joinValues(args: readonly string[], options: readonly CliOptionSpec[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return [...joined, ...args.slice(i)];
    const option = options.find((o) => o.value && (arg === `--${o.name}` || (o.short && arg === `-${o.short}`)));
    if (option && i + 1 < args.length) joined.push(`--${option.name}=${args[++i]}`);
    else joined.push(arg);
  }
  return joined;
}

/** The index of the command word: the first argument that is neither an option nor an option's value. */
function commandIndex(args: readonly string[], options: readonly CliOptionSpec[]): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return i + 1 < args.length ? i + 1 : -1;
    if (!arg.startsWith('-') || arg === '-') return i;
    if (options.some((o) => o.value && (arg === `--${o.name}` || (o.short && arg === `-${o.short}`)))) i++;
  }
  return -1;
}

/** Node's parse error in the words of the CLI's other errors: `unknown option '--x'`. */
function usageMessage(error: Error & { code?: string }, options: readonly CliOptionSpec[]): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? '';
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${quoted}'`;
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument '${quoted}'`;
  const option = options.find((o) => quoted.startsWith(`--${o.name}`) || quoted.startsWith(`-${o.short} `));
  if (/argument missing/.test(error.message) && option) return `option '${flagOf(option)}' argument missing`;
  const first = error.message.split('\n')[0];
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/**
 * Parses `argv` (without node and script) with Node's `util.parseArgs`:
 * global options before or after the command, `--help` / `-h` and
 * `help [command]`, required options and arguments, values from the
 * environment and defaults.
 * @throws CliUsageError for an unknown command or option, a missing argument or value
 */
export function parseCommandLine(argv: readonly string[], program: CliProgramSpec): CommandLine {
  const every = [...program.options, ...program.commands.flatMap((command) => command.options)];
  const at = commandIndex(argv, every);
  const word = at === -1 ? undefined : argv[at];
  const rest = at === -1 ? [...argv] : [...argv.slice(0, at), ...argv.slice(at + 1)];
  if (word === 'help') return { kind: 'help', command: program.commands.find((c) => c.name === rest.at(-1)) };
  const command = program.commands.find((c) => c.name === word);
  const wantsHelp = rest
    .slice(0, rest.includes('--') ? rest.indexOf('--') : undefined)
    .some((a) => /^(-h|--help)$/.test(a));
  if (word !== undefined && !command && !wantsHelp) throw new CliUsageError(`unknown command '${word}'`);
  if (!command) {
    if (wantsHelp) return { kind: 'help' };
    throw new CliUsageError('missing command');
  }
  const options = [...command.options, ...program.options, HELP];
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: joinValues(rest, options),
      options: Object.fromEntries(
        options.map((o) => [o.name, { type: o.value ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}) }]),
      ) as Record<string, { type: 'string' | 'boolean'; short?: string }>,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new CliUsageError(usageMessage(error as Error, options), command);
  }
  if (parsed.values.help) return { kind: 'help', command };
  const values: Record<string, string | boolean | undefined> = {};
  for (const option of options) {
    const fromEnv = option.env ? process.env[option.env] || undefined : undefined;
    values[option.name] = parsed.values[option.name] ?? fromEnv ?? option.default;
    if (option.required && values[option.name] === undefined)
      throw new CliUsageError(`required option '${flagOf(option)}' not specified`, command);
  }
  const args = parsed.positionals;
  if (args.length < command.args.length)
    throw new CliUsageError(`missing required argument '${command.args[args.length]}'`, command);
  if (args.length > command.args.length) {
    const expected = `${command.args.length} argument${command.args.length === 1 ? '' : 's'}`;
    throw new CliUsageError(
      `too many arguments for '${command.name}'. Expected ${expected} but got ${args.length}.`,
      command,
    );
  }
  return { kind: 'run', command, values, args };
}

/** `text` in lines of at most 100 columns after `indent` columns (the first line's indent is the caller's). */
function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > 100) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** Rows of `term  description`, the descriptions aligned and wrapped. */
function rows(entries: readonly [string, string][]): string {
  const width = Math.max(...entries.map(([term]) => term.length)) + 2;
  return entries.map(([term, text]) => `  ${term.padEnd(width)}${wrap(text, 2 + width)}`).join('\n');
}

const describe = (option: CliOptionSpec) =>
  [
    option.description,
    option.env ? `(env ${option.env})` : '',
    option.default !== undefined ? `(default: ${JSON.stringify(option.default)})` : '',
  ]
    .filter(Boolean)
    .join(' ');

const usageOf = (command: CliCommandSpec) =>
  [command.name, ...(command.options.length ? ['[options]'] : []), ...command.args.map((a) => `<${a}>`)].join(' ');

/** The help of the program, or of one command (with the global options it also takes). */
export function renderHelp(program: CliProgramSpec, command?: CliCommandSpec): string {
  if (command) {
    return [
      `Usage: ${program.name} [global options] ${usageOf(command)}`,
      '',
      wrap(command.description, 0),
      '',
      'Options:',
      rows([...command.options, HELP].map((o) => [flagOf(o), describe(o)])),
      '',
      'Global options (before or after the command):',
      rows(program.options.map((o) => [flagOf(o), describe(o)])),
      '',
    ].join('\n');
  }
  return [
    `Usage: ${program.name} [options] [command]`,
    '',
    wrap(program.description, 0),
    '',
    'Options:',
    rows([...program.options, HELP].map((o) => [flagOf(o), describe(o)])),
    '',
    'Commands:',
    rows([
      ...program.commands.map((c): [string, string] => [usageOf(c), c.description]),
      ['help [command]', 'display help for command'],
    ]),
    program.epilogue,
    '',
  ].join('\n');
}
