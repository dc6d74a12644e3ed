import { parseError } from './parse-error.js';

/**
 * From Dockerfile text to logical lines, one per instruction, as Docker's parser reads it:
 *
 * - parser directives (`# escape=`` ` ``, `# syntax=...`) only at the very top: the first
 *   line that is not a known directive (a comment, an unknown directive, a blank line, an
 *   instruction) ends them; each at most once; names case-insensitive.
 * - comments: lines whose first non-blank character is `#`, anywhere, also between the
 *   lines of a continued instruction (dropped there, as are blank lines).
 * - continuations: the escape character at the end of a line (trailing blanks allowed) joins
 *   the next line. An escaped escape (`\\` at the end) does not continue. A continuation
 *   at the end of the file ends the instruction.
 * - CRLF line ends and a UTF-8 byte-order mark are accepted.
 */

export interface LogicalLine {
  /** 1-based line where the instruction starts. */
  readonly line: number;
  /** The instruction's text, continuations joined, not yet trimmed at the end. */
  readonly text: string;
}

export interface DockerfileSource {
  readonly escape: string;
  readonly syntax?: string;
  readonly lines: readonly LogicalLine[];
}

/** `name = value`; the value is trimmed by hand: a lazy `(.+?)\s*$` is quadratic in JS. */
const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=([\s\S]*)$/;
/** `check` is BuildKit's linter directive: valid (so it stays in the directive section), unused. */
const KNOWN_DIRECTIVES = new Set(['escape', 'syntax', 'check']);

class DirectiveReader {
  private done = false;
  private readonly seen = new Set<string>();

  /** The directive on this line, or undefined (and the directive section is over). */
  read(line: string, lineNumber: number): { name: string; value: string } | undefined {
    if (this.done) return undefined;
    const match = line.startsWith('#') ? DIRECTIVE.exec(line.slice(1).trimStart()) : null;
    const name = match?.[1]?.toLowerCase();
    const value = trimDirectiveBlanks(match?.[2] ?? '');
    if (name === undefined || value === '' || !KNOWN_DIRECTIVES.has(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) {
      throw parseError(lineNumber, `only one ${name} parser directive can be used`);
    }
    this.seen.add(name);
    return { name, value };
  }
}

/** Trims the blanks Go's `\s` matches (tab, LF, FF, CR, space) from both ends. */
function trimDirectiveBlanks(text: string): string {
  const blank = (ch: string | undefined): boolean => ch !== undefined && '\t\n\f\r '.includes(ch);
  let start = 0;
  let end = text.length;
  while (start < end && blank(text[start])) start++;
  while (end > start && blank(text[end - 1])) end--;
  return text.slice(start, end);
}

function continuationPattern(escape: string): RegExp {
  const e = escape === '\\' ? '\\\\' : escape;
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

/** The line without its continuation escape, and whether it had one. */
function cutContinuation(line: string, continuation: RegExp): [string, boolean] {
  return continuation.test(line) ? [line.replace(continuation, '$1'), true] : [line, false];
}

function isComment(line: string): boolean {
  return line.trimStart().startsWith('#');
}

/** The line without its CRs at the end (a loop: `/\r+$/` is quadratic on runs of CRs). */
function withoutLineEnd(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === '\r') end--;
  return line.slice(0, end);
}

export function readLogicalLines(text: string): DockerfileSource {
  const physical = text.replace(/^\uFEFF/, '').split('\n');
  if (physical.length > 0 && physical[physical.length - 1] === '') physical.pop();

  const directives = new DirectiveReader();
  let escape = '\\';
  let syntax: string | undefined;
  let continuation = continuationPattern(escape);
  const lines: LogicalLine[] = [];

  let next = 0;
  while (next < physical.length) {
    const lineNumber = next + 1;
    const first = withoutLineEnd(physical[next++] as string).trimStart();
    const directive = directives.read(first, lineNumber);
    if (directive?.name === 'escape') {
      if (directive.value !== '\\' && directive.value !== '`') {
        throw parseError(
          lineNumber,
          `invalid escape token '${directive.value}' does not match \` or \\`,
        );
      }
      escape = directive.value;
      continuation = continuationPattern(escape);
    } else if (directive?.name === 'syntax') {
      syntax = directive.value;
    }
    if (isComment(first)) continue;

    let [joined, continues] = cutContinuation(first, continuation);
    if (!continues && joined === '') continue;
    while (continues && next < physical.length) {
      const part = withoutLineEnd(physical[next++] as string);
      if (isComment(part) || part.trim() === '') continue;
      const [text, more] = cutContinuation(part, continuation);
      joined += text;
      continues = more;
    }
    lines.push({ line: lineNumber, text: joined });
  }
  return syntax === undefined ? { escape, lines } : { escape, syntax, lines };
}
