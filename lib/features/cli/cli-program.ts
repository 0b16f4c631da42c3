import { ApiKeyStoreUnavailableError } from '../../api-key.errors.js';
import { CliUsageError, parseCommandLine, renderHelp } from './cli-args.js';
import { CLI_PROGRAM } from './cli-commands.js';
import { ExitCode, exitCodeOf } from './exit-codes.js';
import type { CliStreams } from './output.js';

/** Runs the CLI on `argv` (without node and script) and returns the exit code; never throws. */
export async function runCli(argv: string[], streams: CliStreams): Promise<number> {
  try {
    const line = parseCommandLine(argv, CLI_PROGRAM);
    if (line.kind === 'help') {
      streams.stdout(renderHelp(CLI_PROGRAM, line.command));
      return ExitCode.ok;
    }
    const { runCommand } = await import('./cli-actions.js');
    await runCommand(line.command.name, line.values, line.args, streams);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CliUsageError) {
      streams.stderr(`error: ${error.message}\n\n${renderHelp(CLI_PROGRAM, error.command)}`);
      return ExitCode.usage;
    }
    const message =
      error instanceof ApiKeyStoreUnavailableError
        ? `database unavailable: ${(error.cause as Error | undefined)?.message ?? error.message}`
        : (error as Error).message;
    if (message) streams.stderr(`error: ${message}\n`);
    return exitCodeOf(error);
  }
}
