import { PatternError, replaceMatches, trimPrefix, trimSuffix } from './shell-pattern.js';

/**
 * Docker's shell-word lexer (moby/buildkit frontend/dockerfile/shell), reimplemented: the
 * rules by which ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and
 * ARG arguments are expanded. Not a shell: no commands, no globbing, no `~`.
 *
 * - `$NAME`, `${NAME}`; a name is letters, digits and `_`, or all digits (`$1`), or one
 *   special character (`$@ $* $# $? $- $$ $! $0`); those are looked up like any name (so
 *   they are usually empty). A `$` not followed by a name stays `$`. Unknown names expand to ''.
 * - `${NAME:-word}` word if unset or empty; `${NAME-word}` word if unset;
 *   `${NAME:+word}` word if set and not empty; `${NAME+word}` word if set;
 *   `${NAME:?message}` / `${NAME?message}` fail if unset (or empty, with `:`);
 *   `${NAME#glob}` `${NAME##glob}` `${NAME%glob}` `${NAME%%glob}` trim a prefix/suffix;
 *   `${NAME/glob/replacement}` `${NAME//glob/replacement}` replace. Words nest (`${a:-${b}}`).
 * - The escape character (`\` or `` ` ``) takes the next character literally and is removed
 *   (a trailing one is dropped). 'single quotes' are literal; "double quotes" expand `$` and
 *   let the escape quote only `"`, `$` and the escape itself. Quotes are removed.
 * - Word splitting (for expandWords): unquoted, unescaped whitespace separates words, also
 *   whitespace that came from an unquoted variable; quoted text never splits; an empty
 *   quoted word ("") yields no word.
 */

export class ShellSyntaxError extends Error {}

const MAX_NESTING = 100;
const SPECIAL_PARAMETERS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const isWhitespace = (ch: string): boolean => /^\s$/u.test(ch);
const isNameChar = (ch: string): boolean => /^[\p{L}\p{Nd}_]$/u.test(ch);
const isDigit = (ch: string): boolean => /^\p{Nd}$/u.test(ch);

/** Collects words for splitting: whitespace ends a word unless it was added raw (quoted). */
class WordCollector {
  private readonly words: string[] = [];
  private word = '';

  addChar(ch: string): void {
    if (isWhitespace(ch)) this.end();
    else this.word += ch;
  }

  addText(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  addRaw(text: string): void {
    this.word += text;
  }

  finish(): string[] {
    this.end();
    return this.words;
  }

  private end(): void {
    if (this.word !== '') this.words.push(this.word);
    this.word = '';
  }
}

export interface LexResult {
  /** The whole text, expanded, quotes and escapes removed, whitespace kept. */
  readonly text: string;
  /** The same split into words. */
  readonly words: readonly string[];
}

export function lexShellWord(source: string, env: ReadonlyMap<string, string>, escape: string): LexResult {
  const lexer = new ShellLexer(source, env, escape);
  return lexer.processUntil(undefined, false);
}

class ShellLexer {
  private readonly chars: string[];
  private pos = 0;
  /** Keep escapes in the text: inside ${...#pattern} and friends, whose globs read them. */
  private rawEscapes = false;
  /** ${...} nesting, bounded so that hostile input cannot exhaust the stack. */
  private depth = 0;

  constructor(
    source: string,
    private readonly env: ReadonlyMap<string, string>,
    private readonly escape: string,
  ) {
    this.chars = Array.from(source);
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  /** Processes up to `stop` (consumed) or the end; a missing `stop` is an error. */
  processUntil(stop: string | undefined, rawEscapes: boolean): LexResult {
    if (this.depth >= MAX_NESTING) {
      throw new ShellSyntaxError(`substitutions nested deeper than ${MAX_NESTING} levels`);
    }
    const savedRawEscapes = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    this.depth++;
    try {
      return this.processUntilWith(stop);
    } finally {
      this.depth--;
      this.rawEscapes = savedRawEscapes;
    }
  }

  private processUntilWith(stop: string | undefined): LexResult {
    let text = '';
    const words = new WordCollector();
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (ch === stop) {
        this.next();
        return { text, words: words.finish() };
      }
      if (ch === '$') {
        const value = this.processDollar();
        text += value;
        words.addText(value);
      } else if (ch === "'" || ch === '"') {
        const value = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
        text += value;
        words.addRaw(value);
      } else {
        let literal = this.next() as string;
        if (literal === this.escape) {
          if (this.rawEscapes) {
            words.addRaw(literal);
            text += literal;
          }
          const escaped = this.next();
          if (escaped === undefined) break;
          literal = escaped;
          words.addRaw(literal);
        } else {
          words.addChar(literal);
        }
        text += literal;
      }
    }
    if (stop !== undefined) {
      throw new ShellSyntaxError(`unexpected end of statement while looking for matching ${stop}`);
    }
    return { text, words: words.finish() };
  }

  private processSingleQuote(): string {
    this.next();
    let text = '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) {
        throw new ShellSyntaxError('unexpected end of statement while looking for matching single-quote');
      }
      if (ch === "'") return text;
      text += ch;
    }
  }

  private processDoubleQuote(): string {
    this.next();
    let text = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) {
        throw new ShellSyntaxError('unexpected end of statement while looking for matching double-quote');
      }
      if (ch === '"') {
        this.next();
        return text;
      }
      if (ch === '$') {
        text += this.processDollar();
        continue;
      }
      let literal = this.next() as string;
      if (literal === this.escape) {
        if (this.rawEscapes) text += literal;
        const escaped = this.peek();
        if (escaped === undefined) continue; // the end: reported as an unclosed quote
        // Only these can be escaped inside double quotes; before anything else the escape stays.
        if (escaped === '"' || escaped === '$' || escaped === this.escape) literal = this.next() as string;
      }
      text += literal;
    }
  }

  private processName(): string {
    const first = this.peek();
    if (first === undefined) return '';
    if (isDigit(first)) {
      let name = '';
      while (this.peek() !== undefined && isDigit(this.peek() as string)) name += this.next() as string;
      return name;
    }
    if (SPECIAL_PARAMETERS.has(first)) return this.next() as string;
    let name = '';
    while (this.peek() !== undefined && isNameChar(this.peek() as string)) name += this.next() as string;
    return name;
  }

  private lookup(name: string): { value: string; set: boolean } {
    const value = this.env.get(name);
    return value === undefined ? { value: '', set: false } : { value, set: true };
  }

  private processDollar(): string {
    this.next(); // $
    if (this.peek() !== '{') {
      const name = this.processName();
      return name === '' ? '$' : this.lookup(name).value;
    }
    this.next(); // {
    const first = this.peek();
    if (first === undefined) throw new ShellSyntaxError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') {
      throw new ShellSyntaxError('syntax error: bad substitution');
    }
    const name = this.processName();
    let modifier = this.next();
    if (modifier === undefined) throw new ShellSyntaxError("syntax error: missing '}'");
    if (modifier === '}') return this.lookup(name).value;
    if (modifier === '/') return this.processReplacement(name);

    let written = modifier;
    const colon = modifier === ':';
    if (colon) {
      modifier = this.next();
      if (modifier === undefined) throw new ShellSyntaxError("syntax error: missing '}'");
      written += modifier;
    }
    const isTrim = modifier === '#' || modifier === '%';
    if (!['+', '-', '?'].includes(modifier) && !(isTrim && !colon)) {
      throw new ShellSyntaxError(`unsupported modifier (${written}) in substitution`);
    }
    let word = this.processWordUntil('}', isTrim);
    const { value, set } = this.lookup(name);
    const unset = !set || (colon && value === '');
    switch (modifier) {
      case '-':
        return unset ? word : value;
      case '+':
        return unset ? '' : word;
      case '?':
        if (!set) throw new ShellSyntaxError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (unset) throw new ShellSyntaxError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        // # and % match the shortest pattern, ## and %% the longest.
        const greedy = word.startsWith(modifier);
        if (greedy) word = word.slice(1);
        return this.withPattern(word, () =>
          modifier === '%' ? trimSuffix(word, value, greedy) : trimPrefix(word, value, greedy),
        );
      }
    }
  }

  private processReplacement(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const pattern = this.processWordUntil('/', true, "syntax error: missing '/' in ${}");
    const replacement = this.processWordUntil('}', true);
    const { value } = this.lookup(name);
    return this.withPattern(pattern, () => replaceMatches(value, pattern, replacement, all));
  }

  /** The nested word of a ${...} form, up to `stop`. */
  private processWordUntil(stop: string, rawEscapes: boolean, missing = "syntax error: missing '}'"): string {
    try {
      return this.processUntil(stop, rawEscapes).text;
    } catch (err) {
      if (err instanceof ShellSyntaxError && this.peek() === undefined) throw new ShellSyntaxError(missing);
      throw err;
    }
  }

  private withPattern(pattern: string, apply: () => string): string {
    try {
      return apply();
    } catch (err) {
      if (err instanceof PatternError) {
        throw new ShellSyntaxError(`invalid pattern (${pattern}) in substitution: ${err.message}`);
      }
      throw err;
    }
  }
}
