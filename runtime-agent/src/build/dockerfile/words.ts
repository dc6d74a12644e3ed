/**
 * Splitting instruction text into words *without* expanding anything: the parser needs word
 * boundaries (ENV/LABEL/ARG pairs, FROM's `AS name`, how many COPY arguments) while the
 * text itself stays as written for expand.ts to process when the instruction runs.
 */

/** Go's unicode.IsSpace (the White_Space property), which Docker's parser splits on. */
const SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;

export function isSpace(ch: string): boolean {
  return SPACE.test(ch);
}

/** Docker's plain whitespace split (FROM, EXPOSE, the old `ENV key value` form). */
const WHITESPACE_RUN = /[\t\v\f\r ]+/;

export function splitOnWhitespace(text: string, limit?: number): string[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (limit === undefined) return trimmed.split(WHITESPACE_RUN);
  const parts: string[] = [];
  let remaining = trimmed;
  while (parts.length < limit - 1) {
    const match = WHITESPACE_RUN.exec(remaining);
    if (!match) break;
    parts.push(remaining.slice(0, match.index));
    remaining = remaining.slice(match.index + match[0].length);
  }
  parts.push(remaining);
  return parts;
}

/**
 * Words separated by unquoted whitespace, quotes and escapes kept as written
 * (`a="b c" d\ e` -> [`a="b c"`, `d\ e`]). An escape keeps the character after it in the
 * word (even a space or a quote); inside single quotes the escape is an ordinary character.
 * A trailing escape is dropped. A word made only of quotes (`""`) still counts.
 */
export function splitRawWords(text: string, escape: string): string[] {
  const chars = Array.from(text);
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoted = false; // the word held a quote, so '' is still a word
  let quote: string | undefined;
  const flush = (): void => {
    if (word !== '' || quoted) words.push(word);
    word = '';
    inWord = false;
    quoted = false;
  };
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    const atEnd = i + 1 === chars.length;
    if (quote !== undefined) {
      if (ch === quote) {
        quote = undefined;
        word += ch;
      } else if (ch === escape && quote !== "'") {
        if (atEnd) quote = undefined;
        else word += ch + (chars[++i] as string);
      } else {
        word += ch;
      }
      continue;
    }
    if (isSpace(ch)) {
      if (inWord) flush();
      continue;
    }
    inWord = true;
    if (ch === "'" || ch === '"') {
      quote = ch;
      quoted = true;
      word += ch;
    } else if (ch === escape) {
      if (!atEnd) word += ch + (chars[++i] as string);
    } else {
      word += ch;
    }
  }
  if (inWord) flush();
  return words;
}
