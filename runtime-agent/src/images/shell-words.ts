import { invalid } from '../errors.js';

/**
 * Dockerfile word processing for `--change` values: quotes ('single' literal, "double"
 * with backslash escapes), backslash escapes outside quotes, and environment expansion
 * ($VAR, ${VAR}, ${VAR:-default}, ${VAR:+alternative}) outside single quotes.
 */
export type Env = ReadonlyMap<string, string>;

/** Splits `input` into words on unquoted whitespace (or keeps it one word when `split` is false). */
export function processWords(input: string, env: Env, split = true): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const expand = (): void => {
    const [value, next] = expansion(input, i, env);
    word += value;
    inWord = true;
    i = next;
  };
  while (i < input.length) {
    const c = input[i] as string;
    if (split && /\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw invalid(`unexpected end of statement while looking for matching single-quote in "${input}"`);
      word += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= input.length) throw invalid(`unexpected end of statement while looking for matching double-quote in "${input}"`);
        const d = input[i] as string;
        if (d === '"') break;
        if (d === '\\' && i + 1 < input.length && '"\\$'.includes(input[i + 1] as string)) {
          word += input[i + 1];
          i += 2;
        } else if (d === '$') expand();
        else {
          word += d;
          i++;
        }
      }
      i++;
    } else if (c === '\\' && i + 1 < input.length) {
      word += input[i + 1];
      inWord = true;
      i += 2;
    } else if (c === '$') expand();
    else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Expands the `$...` at `start`; returns the value and the index after it. */
function expansion(input: string, start: number, env: Env): [string, number] {
  const rest = input.slice(start + 1);
  const simple = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
  if (simple) return [env.get(simple[0]) ?? '', start + 1 + simple[0].length];
  if (!rest.startsWith('{')) return ['$', start + 1];
  const close = rest.indexOf('}');
  if (close < 0) throw invalid(`missing '}' in "${input}"`);
  const body = rest.slice(1, close);
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::([-+])(.*))?$/.exec(body);
  if (!m) throw invalid(`bad substitution in "${input}"`);
  const value = env.get(m[1] as string);
  let out = value ?? '';
  if (m[2] === '-' && (value === undefined || value === '')) out = m[3] ?? '';
  if (m[2] === '+') out = value !== undefined && value !== '' ? (m[3] ?? '') : '';
  return [out, start + 2 + close];
}

/** `key=value` pairs (ENV, LABEL), or the legacy `KEY value with spaces` form. */
export function parseKeyValues(args: string, env: Env, instruction: string): [string, string][] {
  const trimmed = args.trim();
  const firstWord = /^\S+/.exec(trimmed)?.[0] ?? '';
  if (!firstWord.includes('=')) {
    const rest = trimmed.slice(firstWord.length).trim();
    if (firstWord === '' || rest === '') throw invalid(`${instruction} requires at least one argument`);
    return [[processWords(firstWord, env, false)[0] ?? '', processWords(rest, env, false)[0] ?? '']];
  }
  return processWords(trimmed, env).map((word) => {
    const eq = word.indexOf('=');
    if (eq <= 0) throw invalid(`Syntax error - can't find = in "${word}". Must be of the form: name=value`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}
