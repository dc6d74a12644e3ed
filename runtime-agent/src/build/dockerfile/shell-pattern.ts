/**
 * The patterns of `${VAR#pattern}`, `${VAR%pattern}` and `${VAR/pattern/replacement}`:
 * shell globs with `*` and `?` only (no bracket expressions), `\` escaping `*`, `?`, `\`
 * (and `}` / `/`, which only end the pattern), as Docker's shell lexer has them.
 */

export class PatternError extends Error {}

const REGEX_SPECIAL = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);

function toRegex(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let source = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '*') source += greedy ? '.*' : '.*?';
    else if (ch === '?') source += '.';
    else if (ch === '\\') {
      const escaped = chars[i + 1];
      if (escaped === '}' || escaped === '/') continue; // the escape only kept it in the pattern
      if (escaped !== '*' && escaped !== '?' && escaped !== '\\') {
        throw new PatternError(`invalid escape '\\${escaped ?? ''}'`);
      }
      source += `\\${escaped}`;
      i++;
    } else source += REGEX_SPECIAL.has(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(source, global ? 'gu' : 'u');
}

/** `${VAR#pattern}` (shortest) / `${VAR##pattern}` (longest): the value without a matching prefix. */
export function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const match = toRegex(pattern, greedy, true).exec(value);
  return match ? value.slice(match[0].length) : value;
}

/** `${VAR%pattern}` / `${VAR%%pattern}`: reversed, a suffix is a prefix. */
export function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy));
}

/** `${VAR/pattern/replacement}` (first match) and `${VAR//pattern/replacement}` (all). */
export function replaceMatches(value: string, pattern: string, replacement: string, all: boolean): string {
  return value.replace(toRegex(pattern, true, false, all), () => replacement);
}

function reverse(text: string): string {
  return Array.from(text).reverse().join('');
}

/** Reverses a pattern keeping each escape before the character it escapes (`a\*c` -> `c\*a`). */
function reversePattern(pattern: string): string {
  const tokens: string[] = [];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '\\' && i + 1 < chars.length) tokens.push(ch + (chars[++i] as string));
    else tokens.push(ch);
  }
  return tokens.reverse().join('');
}
