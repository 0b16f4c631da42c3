import { describe, expect, it } from '@jest/globals';
import { blockSteps, docBlocks } from '../support/docs/doc-page.js';
import { withInputs } from '../support/docs/doc-shell.js';

const PAGE = [
  'Intro',
  '',
  '<!-- doc-test: skip (starts the app) -->',
  '```bash',
  'npm start',
  '```',
  '',
  '<!-- doc-test: banner -->',
  '```text',
  '  Key: <key>',
  '```',
  '',
  '```bash',
  'export BASE=http://localhost:3000',
  '',
  '# Public route',
  'curl -s $BASE/health',
  '# {"status":"ok"}',
  'curl -si $BASE/orders \\',
  '  | head -n 1',
  '# HTTP/1.1 401 Unauthorized',
  '',
  '# Prose about the next step',
  'X=$(echo 1)',
  'Y=2',
  '```',
].join('\n');

describe('executed docs: reading a page', () => {
  it('finds the fenced blocks with their language, line and doc-test marker', () => {
    expect(docBlocks(PAGE).map(({ line, language, marker }) => ({ line, language, marker }))).toEqual([
      { line: 4, language: 'bash', marker: 'skip' },
      { line: 9, language: 'text', marker: 'banner' },
      { line: 13, language: 'bash', marker: undefined },
    ]);
  });

  it('splits a shell block into steps: commands, then the # lines directly under them as output', () => {
    const steps = blockSteps(docBlocks(PAGE)[2]);
    expect(steps).toEqual([
      { line: 14, command: 'export BASE=http://localhost:3000', expected: [] },
      { line: 17, command: 'curl -s $BASE/health', expected: ['{"status":"ok"}'] },
      { line: 19, command: 'curl -si $BASE/orders \\\n  | head -n 1', expected: ['HTTP/1.1 401 Unauthorized'] },
      { line: 24, command: 'X=$(echo 1)\nY=2', expected: [] },
    ]);
  });

  it("gives the reader's inputs to their export lines, and names the inputs a page never sets", () => {
    const steps = [
      { line: 1, command: "export BASE=http://localhost:3000\nexport OTHER=x\necho 'it''s'", expected: [] },
    ];
    const { steps: replaced, unset } = withInputs(steps, { BASE: "http://127.0.0.1:4000/it's", ADMIN_KEY: 'k' });
    expect(replaced[0].command).toBe("export BASE='http://127.0.0.1:4000/it'\\''s'\nexport OTHER=x\necho 'it''s'");
    expect(unset).toEqual(['ADMIN_KEY']);
  });
});
