/**
 * Pure: does what a command printed match the output a docs page shows?
 *
 * - `<name>` (letters, digits, `-`, spaces) is a placeholder for a value that
 *   changes from run to run: a key, an id, a date. In text it matches any
 *   characters (at least one); in JSON, bare (`"exp":<exp>`) any value, and
 *   inside a string any characters of it.
 * - A line that is JSON (`{...}` or `[...]`) is compared as JSON: an object
 *   must have every field shown, with a matching value (fields not shown are
 *   not checked); an array the elements shown, in order, and no more.
 * - Any other line must match whole (trailing spaces and `\r` aside).
 * - A line that is just `...` stands for any number of lines.
 * - A note at the end of a line, after two or more spaces, in parentheses
 *   (`# 200   (grace period)`), is for the reader and not compared.
 */

const PLACEHOLDER = /<[a-z][a-z0-9 -]*>/g;
const HAS_PLACEHOLDER = /<[a-z][a-z0-9 -]*>/;
const ANY = '\u0000any';
const NOTE = /\s{2,}\([^()]*(?:\([^()]*\)[^()]*)*\)$/;

/** The line without its trailing note. */
export function withoutNote(line: string): string {
  return line.replace(NOTE, '').trimEnd();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A whole-string pattern for text with placeholders. */
function textPattern(text: string): RegExp {
  const parts = text.split(PLACEHOLDER).map(escapeRegExp);
  return new RegExp(`^${parts.join('.+?')}$`, 's');
}

/** Parses an expected JSON line, its bare placeholders turned into a marker; undefined if it is not JSON. */
function parseExpectedJson(line: string): { value: unknown } | undefined {
  if (!/^[[{]/.test(line)) return undefined;
  let out = '';
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (inString) {
      out += char;
      if (char === '\\') out += line[++i] ?? '';
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    const placeholder = !inString && char === '<' ? line.slice(i).match(/^<[a-z][a-z0-9 -]*>/) : null;
    if (placeholder) {
      out += JSON.stringify(ANY);
      i += placeholder[0].length - 1;
    } else out += char;
  }
  try {
    return { value: JSON.parse(out) };
  } catch {
    return undefined;
  }
}

/** Where `actual` differs from `expected` (a JSON path and why), or undefined when it matches. */
export function jsonMismatch(expected: unknown, actual: unknown, path = '$'): string | undefined {
  if (expected === ANY) return actual === undefined ? `${path} is missing` : undefined;
  if (typeof expected === 'string') {
    if (typeof actual !== 'string') return `${path}: expected a string, got ${JSON.stringify(actual)}`;
    const matches = HAS_PLACEHOLDER.test(expected) ? textPattern(expected).test(actual) : expected === actual;
    return matches ? undefined : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
    if (actual.length !== expected.length)
      return `${path}: expected ${expected.length} element(s), got ${actual.length}: ${JSON.stringify(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const problem = jsonMismatch(expected[i], actual[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    for (const [key, value] of Object.entries(expected)) {
      if (!(key in actual)) return `${path}.${key} is missing in ${JSON.stringify(actual)}`;
      const problem = jsonMismatch(value, (actual as Record<string, unknown>)[key], `${path}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  }
  return Object.is(expected, actual)
    ? undefined
    : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

/** Why one printed line does not match one shown line, or undefined. */
export function lineMismatch(expected: string, actual: string): string | undefined {
  const json = parseExpectedJson(expected);
  if (json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(actual);
    } catch {
      return `expected JSON like ${expected}\n  got ${actual}`;
    }
    const problem = jsonMismatch(json.value, parsed);
    return problem && `${problem}\n  shown: ${expected}\n  got:   ${actual}`;
  }
  return textPattern(expected).test(actual) ? undefined : `expected ${expected}\n  got      ${actual}`;
}

/** Terminal styling (colour, underline) a tool may print even into a pipe: the reader sees the text only. */
const TERMINAL_STYLE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The printed text as lines: terminal styling, `\r` and trailing spaces dropped, no trailing blank lines. */
export function printedLines(text: string): string[] {
  const lines = text
    .replace(TERMINAL_STYLE, '')
    .split('\n')
    .map((line) => line.replace(/\r$/, '').trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Why `printed` does not match the shown `expected` lines, or undefined when it does. */
export function outputMismatch(expected: readonly string[], printed: string): string | undefined {
  const shown = expected.map(withoutNote);
  const actual = printedLines(printed);
  const match = (e: number, a: number): string | undefined => {
    if (e === shown.length)
      return a === actual.length ? undefined : `unexpected output from line ${a + 1}: ${actual.slice(a).join('\n')}`;
    if (shown[e] === '...') {
      // Any number of lines: the first split that lets the rest match.
      let first: string | undefined;
      for (let skip = a; skip <= actual.length; skip++) {
        const problem = match(e + 1, skip);
        if (!problem) return undefined;
        first ??= problem;
      }
      return first;
    }
    if (a === actual.length) return `missing output: ${shown.slice(e).join('\n')}`;
    const problem = lineMismatch(shown[e], actual[a]);
    return problem ? `line ${a + 1}: ${problem}` : match(e + 1, a + 1);
  };
  return match(0, 0);
}

/** The HTTP statuses a step's shown output names (`HTTP/1.1 403`, `"statusCode":409`, a line `401`). */
export function shownStatuses(expected: readonly string[]): Set<number> {
  const statuses = new Set<number>();
  for (const line of expected.map(withoutNote)) {
    for (const m of line.matchAll(/HTTP\/[\d.]+ (\d{3})\b|"statusCode":\s*(\d{3})\b|^(\d{3})$/g))
      statuses.add(Number(m[1] ?? m[2] ?? m[3]));
  }
  return statuses;
}
