import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildCliCheckout, npxPrelude } from './cli-checkout.js';
import { outputMismatch, printedLines, shownStatuses } from './doc-output.js';
import { DocPage, type DocStep } from './doc-page.js';
import { runSteps, withInputs, type ShellRun } from './doc-shell.js';
import { SampleAppRun } from './sample-app-run.js';

/** A key in a failure message, cut to its hint: test output is searched for keys too. */
function masked(text: string): string {
  return text.replace(/\b([a-z]+(?:_[a-z]+)?_[0-9A-Za-z]{4})[0-9A-Za-z]{30,}\b/g, '$1…');
}

/** What is wrong with step `index` of a run, or undefined. */
function stepProblem(run: ShellRun, step: DocStep, index: number): string | undefined {
  const output = run.outputs[index];
  if (!output) return `not reached: an earlier step failed (bash exit ${run.exitCode})`;
  const last = index === run.outputs.length - 1 && !run.completed;
  if (last) return `failed, bash exit ${run.exitCode}\n  stdout: ${output.stdout}\n  stderr: ${output.stderr}`;
  const printed = outputMismatch(step.expected, output.stdout);
  if (printed) return `printed other than the page shows:\n  ${printed}`;
  const shown = shownStatuses(step.expected);
  const unexpected = output.statuses.filter((status) => (status < 200 || status > 299) && !shown.has(status));
  if (unexpected.length > 0)
    return `got HTTP ${unexpected.join(', ')}, which the page does not show (statuses ${output.statuses.join(', ')})`;
  if (output.stderr.trim() !== '') return `wrote to stderr: ${output.stderr}`;
  return undefined;
}

/**
 * The test of one docs page: a fresh sample app (its own SQLite file), the
 * banner it prints checked against the page's `doc-test: banner` block, then
 * every shell step of the page run in order with bash against it, each step's
 * output checked against what the page shows (see doc-page.ts and
 * doc-output.ts). The page's `export BASE=` and `export ADMIN_KEY=` lines get
 * the app's URL and the printed key, as a reader pastes them. Pages that run
 * the CLIs (`node dist/...`, `build/sample-app/data-source.js`, `npx typeorm`)
 * run in a compiled copy of this checkout (see cli-checkout.ts).
 */
export function describeDocPage(path: string): void {
  const root = resolve('.');
  const page = new DocPage(join(root, path));
  const steps = page.steps;
  // Commands on the built checkout: the CLIs and their -d file.
  const usesCli = steps.some((step) => /(^|[\s;&|(])npx |\b(dist|build)\//m.test(step.command));

  describe(`${path}, run against a fresh sample app`, () => {
    const dir = join(root, 'build', `docs-${process.pid}-${path.replace(/\W+/g, '-')}`);
    let app: SampleAppRun | undefined;
    let run: ShellRun;
    const inputs = () => ({ BASE: app!.url, ADMIN_KEY: app!.adminKey });

    beforeAll(async () => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      if (usesCli) await buildCliCheckout(root, dir);
      app = await SampleAppRun.start(dir);
      run = await runSteps(steps, {
        dir,
        env: { ...process.env, DATABASE_PATH: app.databasePath, NO_COLOR: '1', FORCE_COLOR: '0' },
        inputs: inputs(),
        prelude: usesCli ? npxPrelude(root) : undefined,
      });
    }, 180_000);

    afterAll(async () => {
      await app?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('has shell steps, and tells the reader to set BASE and ADMIN_KEY', () => {
      expect(steps.length).toBeGreaterThan(3);
      expect(withInputs(steps, inputs()).unset).toEqual([]);
    });

    it('shows the banner the app prints on first start', () => {
      const [banner] = page.marked('banner');
      expect(banner?.language).toBe('text');
      expect(app!.adminKey).not.toBe('');
      const printed = printedLines(app!.printed);
      while (printed[0] === '') printed.shift();
      expect(masked(outputMismatch(banner.lines, printed.join('\n')) ?? 'matches')).toBe('matches');
    });

    steps.forEach((step, index) => {
      const title = step.command.split('\n')[0].slice(0, 90);
      it(`line ${step.line}: ${title}`, () => {
        expect(masked(stepProblem(run, step, index) ?? 'as shown')).toBe('as shown');
      });
    });

    it('ran every step, and the app logged no key', () => {
      expect({ completed: run.completed, exitCode: run.exitCode }).toEqual({ completed: true, exitCode: 0 });
      expect(app!.logs.lines.join('\n')).not.toMatch(/\bsk_(?:live|test)_[0-9A-Za-z]{40,}/);
    });
  });
}
