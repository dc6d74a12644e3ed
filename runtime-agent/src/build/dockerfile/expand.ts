import { invalid } from '../../errors.js';
import { lexShellWord, ShellSyntaxError, type LexResult } from './shell-lexer.js';
import type { Keyword } from './types.js';

/**
 * Variable expansion of instruction arguments, when the builder runs an instruction, with
 * the ARG/ENV values in effect at that point (shell-lexer.ts has the rules). The parser
 * never expands.
 *
 * Which instructions expand (Docker's list, plus ARG): ADD COPY ENV EXPOSE FROM LABEL
 * STOPSIGNAL USER VOLUME WORKDIR ARG. FROM sees only the meta args (ARGs before the first
 * FROM). ONBUILD does not expand when declared: its trigger expands (if its keyword is in the
 * list) when a child image's build runs it. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and
 * MAINTAINER are not expanded by the builder: for RUN/CMD/ENTRYPOINT the shell does it at run
 * time (shell form), and the exec form is never expanded.
 *
 * How each expanding instruction uses this module:
 * - WORKDIR, USER, STOPSIGNAL, FROM's image, every element of a JSON-form ADD/COPY/VOLUME:
 *   expandWord (one word: whitespace kept, quotes removed).
 * - EXPOSE, VOLUME shell form, ADD/COPY shell form: expandWords (split on unquoted whitespace).
 * - ENV, LABEL: expandKeyValues. Every pair of one instruction sees the same `env` (the
 *   values before the instruction): `ENV abc=bye def=$abc` gives def the previous abc.
 * - ARG: parseArg per element.
 *
 * A malformed word (`${a`, an unclosed quote) or `${VAR:?message}` on an unset VAR is an
 * invalid-parameter BerthError: `failed to process "${VAR:?message}": VAR: message`; the
 * builder adds the line.
 */

export const EXPANDING_KEYWORDS: ReadonlySet<Keyword> = new Set<Keyword>([
  'ADD', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR', 'ARG',
]);

function lex(source: string, env: ReadonlyMap<string, string>, escape: string): LexResult {
  try {
    return lexShellWord(source, env, escape);
  } catch (err) {
    if (err instanceof ShellSyntaxError) throw invalid(`failed to process ${JSON.stringify(source)}: ${err.message}`);
    throw err;
  }
}

/** One word, expanded, quotes and escapes removed, whitespace kept (`"a b"$X` -> `a b...`). */
export function expandWord(word: string, env: ReadonlyMap<string, string>, escape: string): string {
  return lex(word, env, escape).text;
}

/** Text split into words on unquoted whitespace, each expanded (`a "b c" $D` -> a, b c, ...). */
export function expandWords(text: string, env: ReadonlyMap<string, string>, escape: string): string[] {
  return [...lex(text, env, escape).words];
}

/** Splits a parsed 'key=value' element at its first `=`. */
function splitPair(element: string): [string, string | undefined] {
  const eq = element.indexOf('=');
  return eq < 0 ? [element, undefined] : [element.slice(0, eq), element.slice(eq + 1)];
}

/** ENV / LABEL: each 'key=value' element expanded (key and value separately). */
export function expandKeyValues(
  args: readonly string[],
  env: ReadonlyMap<string, string>,
  escape: string,
): [string, string][] {
  return args.map((element) => {
    const [key, value] = splitPair(element);
    const name = expandWord(key, env, escape);
    if (name === '') throw invalid(`${JSON.stringify(element)}: the name must not be empty`);
    return [name, expandWord(value ?? '', env, escape)];
  });
}

/** ARG: `name` (no default: value undefined) or `name=default` (default expanded). */
export function parseArg(
  arg: string,
  env: ReadonlyMap<string, string>,
  escape: string,
): { name: string; value?: string } {
  const [key, value] = splitPair(arg);
  const name = expandWord(key, env, escape);
  if (name === '') throw invalid(`ARG ${JSON.stringify(arg)}: the name must not be empty`);
  return value === undefined ? { name } : { name, value: expandWord(value, env, escape) };
}
