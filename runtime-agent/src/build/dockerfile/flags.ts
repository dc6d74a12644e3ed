import { InstructionError } from './parse-error.js';
import type { Instruction, Keyword } from './types.js';
import { isSpace } from './words.js';

/**
 * Builder flags: the `--name=value` words right after the keyword (`COPY --from=build ...`).
 * They end at the first word that does not start with `--`, or after a lone `--`. Their
 * values lose quotes and escapes here, as in Docker (`--chown="1:1"` -> `1:1`); the values
 * are not variable-expanded by the parser.
 */

type FlagKind = 'string' | 'bool';

/** The flags each instruction accepts (classic builder); any other flag is an error. */
const ACCEPTED: Readonly<Partial<Record<Keyword, Readonly<Record<string, FlagKind>>>>> = {
  FROM: { platform: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool' },
  ADD: { chown: 'string', chmod: 'string', checksum: 'string', link: 'bool', 'keep-git-dir': 'bool' },
  HEALTHCHECK: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

/** Flags that exist only with BuildKit: named as such, so the fix is clear. */
const BUILDKIT_ONLY: Readonly<Partial<Record<Keyword, readonly string[]>>> = {
  RUN: ['mount', 'network', 'security', 'device'],
  COPY: ['exclude', 'parents'],
  ADD: ['exclude', 'unpack'],
};

/** Splits the leading flag words off `text`: the flags (unquoted) and the rest. */
export function extractFlagWords(text: string, escape: string): { words: string[]; rest: string } {
  const words: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && isSpace(text[pos] as string)) pos++;
    if (!text.startsWith('--', pos)) return { words, rest: text.slice(pos) };
    let word = '';
    let quote: string | undefined;
    for (; pos < text.length; pos++) {
      let ch = text[pos] as string;
      if (quote === undefined && isSpace(ch)) break;
      if (quote === undefined && (ch === '"' || ch === "'")) {
        quote = ch;
        continue;
      }
      if (quote !== undefined && ch === quote) {
        quote = undefined;
        continue;
      }
      if (ch === escape) {
        if (pos + 1 === text.length) continue; // a trailing escape is dropped
        ch = text[++pos] as string;
      }
      word += ch;
    }
    if (word === '--') return { words, rest: text.slice(pos) };
    words.push(word);
  }
}

/** Validates `--name[=value]` words against what `keyword` accepts. */
export function parseFlags(keyword: Keyword, words: readonly string[]): Record<string, string> {
  const accepted = ACCEPTED[keyword] ?? {};
  const flags: Record<string, string> = {};
  for (const word of words) {
    const body = word.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    const kind = Object.hasOwn(accepted, name) ? accepted[name] : undefined;
    if (kind === undefined) {
      if (BUILDKIT_ONLY[keyword]?.includes(name)) {
        throw new InstructionError(
          `the --${name} option of ${keyword} requires BuildKit, which berthd does not provide ` +
            `(it implements the classic builder): remove --${name}`,
        );
      }
      throw new InstructionError(`unknown flag: --${name} (${keyword} does not take it)`);
    }
    if (Object.hasOwn(flags, name)) throw new InstructionError(`duplicate flag specified: --${name}`);
    if (kind === 'bool') {
      if (value !== undefined && !/^(true|false)$/i.test(value)) {
        throw new InstructionError(`expecting boolean value for flag --${name}, not: ${value}`);
      }
      flags[name] = value === undefined ? '' : value.toLowerCase();
    } else {
      if (value === undefined) throw new InstructionError(`missing a value on flag: --${name}`);
      flags[name] = value;
    }
  }
  return flags;
}

/** A boolean flag's state: `--link` and `--link=true` are on; absent or `--link=false` off. */
export function booleanFlag(instruction: Instruction, name: string): boolean {
  const value = Object.hasOwn(instruction.flags, name) ? instruction.flags[name] : undefined;
  return value !== undefined && value !== 'false';
}
