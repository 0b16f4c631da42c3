import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DocStep } from './doc-page.js';

/** What one step printed, and the HTTP statuses its curl calls got. */
export interface StepOutput {
  readonly stdout: string;
  /** stderr without the status lines. */
  readonly stderr: string;
  /** `%{http_code}` of every curl call of the step, in order (0: no answer). */
  readonly statuses: readonly number[];
}

/** A run of a page's steps: one output per step reached, and how bash ended. */
export interface ShellRun {
  readonly outputs: readonly StepOutput[];
  readonly exitCode: number | null;
  /** True when every step ran (bash reached the end of the script). */
  readonly completed: boolean;
}

/** Where and with what the steps run. */
export interface ShellOptions {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  /**
   * What a reader types in: the value the page's `export NAME=...` line is
   * given instead of its text (the app's URL, the key the banner printed).
   */
  readonly inputs: Readonly<Record<string, string>>;
  /** Shell functions defined before the page's commands (e.g. an `npx` that runs this checkout's CLI). */
  readonly prelude?: string;
  readonly timeoutMs?: number;
}

const MARK = '\x1e';
const STEP = `${MARK}STEP `;
const STATUS = `${MARK}HTTP `;

/**
 * curl as the page calls it, plus its status written to stderr (not to stdout,
 * which the page shows), unless the command sets its own `-w`.
 */
const CURL = `curl() {
  case " $* " in
    *" -w "* | *" --write-out "*) command curl "$@" ;;
    *) command curl --write-out '%{stderr}${STATUS}%{http_code}\\n' "$@" ;;
  esac
}`;

/**
 * The steps with the reader's inputs put in: each `export NAME=...` line of an
 * input gets the input's value. Also returns the inputs no step sets, which
 * means the page no longer tells its reader to set them.
 */
export function withInputs(
  steps: readonly DocStep[],
  inputs: Readonly<Record<string, string>>,
): { steps: DocStep[]; unset: string[] } {
  const set = new Set<string>();
  const replaced = steps.map((step) => ({
    ...step,
    command: step.command.replace(/^export ([A-Z_][A-Z0-9_]*)=.*$/gm, (line, name: string) => {
      if (!(name in inputs)) return line;
      set.add(name);
      return `export ${name}='${inputs[name].replace(/'/g, `'\\''`)}'`;
    }),
  }));
  return { steps: replaced, unset: Object.keys(inputs).filter((name) => !set.has(name)) };
}

/** Splits a stream at the step marks: the text printed by each step, by index. */
function byStep(text: string): Map<number | 'end', string> {
  const parts = new Map<number | 'end', string>();
  for (const chunk of text.split(STEP).slice(1)) {
    const newline = chunk.indexOf('\n');
    const id = chunk.slice(0, newline);
    parts.set(id === 'end' ? 'end' : Number(id), chunk.slice(newline + 1));
  }
  return parts;
}

/**
 * Runs the steps in page order in one `bash` process (`set -euo pipefail`),
 * so shell variables carry from step to step, and collects each step's
 * output. The first failing command ends the run; later steps are not reached.
 */
export async function runSteps(steps: readonly DocStep[], options: ShellOptions): Promise<ShellRun> {
  const { steps: concrete } = withInputs(steps, options.inputs);
  const mark = (id: number | string) => `printf '${STEP}${id}\\n'; printf '${STEP}${id}\\n' >&2`;
  const script = [
    'set -euo pipefail',
    CURL,
    options.prelude ?? '',
    ...concrete.flatMap((step, index) => [mark(index), step.command]),
    mark('end'),
    '',
  ].join('\n');
  const file = join(options.dir, 'page.sh');
  writeFileSync(file, script);
  const child = spawn('bash', [file], { cwd: options.dir, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  clearTimeout(timer);
  const out = byStep(stdout);
  const err = byStep(stderr);
  const outputs: StepOutput[] = [];
  const status = new RegExp(`${STATUS}(\\d{3})\\n?`, 'g');
  for (let index = 0; out.has(index); index++) {
    const text = err.get(index) ?? '';
    outputs.push({
      stdout: out.get(index)!,
      stderr: text.replace(status, ''),
      statuses: [...text.matchAll(status)].map((m) => Number(m[1])),
    });
  }
  return { outputs, exitCode, completed: out.has('end') };
}
