import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSteps } from '../support/docs/doc-shell.js';

describe('executed docs: running steps with bash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'doc-shell-'));
  let server: Server;
  let base = '';

  beforeAll(async () => {
    // Answers /<status> with that status and a one-line body.
    server = createServer((req, res) => res.writeHead(Number(req.url!.slice(1))).end(`got ${req.url}`));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((done) => server.close(done));
    rmSync(dir, { recursive: true, force: true });
  });

  const step = (command: string) => ({ line: 1, command, expected: [] });

  it("carries variables between steps, keeps each step's output apart and records curl's statuses", async () => {
    const run = await runSteps(
      [
        step('export BASE=typed-by-the-reader\nX=$(echo carried)'),
        step('echo "$X"; printf "no newline"'),
        step('curl -s $BASE/201; echo; curl -s $BASE/404 -o /dev/null'),
        step("curl -s $BASE/403 -o /dev/null -w '%{http_code}\\n'"),
      ],
      { dir, env: process.env, inputs: { BASE: base } },
    );
    expect(run).toMatchObject({ completed: true, exitCode: 0 });
    expect(run.outputs.map((output) => output.stdout)).toEqual(['', 'carried\nno newline', 'got /201\n', '403\n']);
    // A command's own -w keeps its status on stdout, where the page shows it.
    expect(run.outputs.map((output) => output.statuses)).toEqual([[], [], [201, 404], []]);
    expect(run.outputs.every((output) => output.stderr === '')).toBe(true);
  });

  it('stops at the first failing command (set -euo pipefail): later steps are not reached', async () => {
    const run = await runSteps([step('echo one'), step('echo two | grep three'), step('echo never')], {
      dir,
      env: process.env,
      inputs: {},
    });
    expect(run.completed).toBe(false);
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toHaveLength(2);
    const unset = await runSteps([step('echo "$NOT_SET"')], { dir, env: process.env, inputs: {} });
    expect(unset.completed).toBe(false);
    expect(unset.outputs[0].stderr).toMatch(/NOT_SET: unbound variable/);
  });
});
