import { readFileSync } from 'node:fs';

/**
 * A docs page as the executed-docs tests read it. The conventions, which the
 * pages follow (CONTRIBUTING.md, "The docs are tested"):
 *
 * - Every ```bash block runs, in page order, in one bash process
 *   (`set -euo pipefail`), so variables carry from block to block.
 * - Inside a block, `# ` lines directly under a command (no blank line
 *   between) are that command's output, checked by the test; other comment
 *   lines are prose. A run of command lines and the output under them is one
 *   step; a step that shows no output must print nothing.
 * - `<!-- doc-test: skip -->` on the line before a block: not run (a command
 *   the test cannot run, such as `npm start`). Keep these few.
 * - `<!-- doc-test: banner -->` before a ```text block: the sample app's
 *   first-start output, checked against what it prints.
 */
export interface DocStep {
  /** 1-based line of the step's first command in the page. */
  readonly line: number;
  /** The command lines, as written. */
  readonly command: string;
  /** The output lines shown under it, without the leading `# `. */
  readonly expected: readonly string[];
}

/** A fenced block of the page. */
export interface DocBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly language: string;
  /** The `doc-test` marker on the line before the fence, if any (`skip`, `banner`). */
  readonly marker: string | undefined;
  readonly lines: readonly string[];
}

const MARKER = /^<!--\s*doc-test:\s*(\S+)(?:\s[^>]*)?-->\s*$/;

/** The fenced blocks of a markdown text, with their markers. */
export function docBlocks(markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^```(\S*)\s*$/);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    let before = start - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const marker = before >= 0 ? lines[before].match(MARKER)?.[1] : undefined;
    blocks.push({ line: start + 1, language: open[1], marker, lines: body });
  }
  return blocks;
}

/** The steps of one shell block (see {@link DocStep}). */
export function blockSteps(block: DocBlock): DocStep[] {
  const steps: DocStep[] = [];
  let command: string[] = [];
  let expected: string[] = [];
  let line = 0;
  const close = () => {
    if (command.length > 0) steps.push({ line, command: command.join('\n'), expected });
    command = [];
    expected = [];
  };
  block.lines.forEach((text, index) => {
    if (text.trim() === '') return close();
    if (text.startsWith('#')) {
      // Output only directly under a command; elsewhere a comment is prose.
      if (command.length > 0) expected.push(text.replace(/^# ?/, ''));
      return;
    }
    if (expected.length > 0) close();
    if (command.length === 0) line = block.line + 1 + index;
    command.push(text);
  });
  close();
  return steps;
}

/** A page read from disk: its blocks, and the steps of the shell blocks it runs. */
export class DocPage {
  readonly blocks: readonly DocBlock[];

  constructor(readonly path: string) {
    this.blocks = docBlocks(readFileSync(path, 'utf8'));
  }

  /** Every step of every ```bash block not marked `skip`, in page order. */
  get steps(): DocStep[] {
    return this.blocks
      .filter((block) => block.language === 'bash' && block.marker !== 'skip')
      .flatMap((block) => blockSteps(block));
  }

  /** The blocks marked with `marker`. */
  marked(marker: string): DocBlock[] {
    return this.blocks.filter((block) => block.marker === marker);
  }
}
