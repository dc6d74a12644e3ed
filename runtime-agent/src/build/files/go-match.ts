/**
 * Go's `filepath.Match` for one path component, which is how COPY/ADD wildcards match (moby
 * walks the source and matches each path; `*` and `?` never cross a `/`, so matching component
 * by component is the same):
 *
 *   `*`            any run of characters          `?`   any one character
 *   `[a-z0-9]`     one character of the class     `[^...]` one not in it
 *   `\c`           the character c itself
 *
 * A malformed pattern (`[` unclosed, `[]`, a trailing `\`) matches nothing, as moby ignores
 * Match's error while walking.
 */
export function matchComponent(pattern: string, name: string): boolean {
  return compileComponent(pattern)?.test(name) ?? false;
}

/** Whether a source holds wildcards; `\` escapes the next character (moby's containsWildcards). */
export function hasWildcards(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const ch = path[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/** Whether `pattern` is well formed (the dockerignore parser refuses bad patterns, as moby does). */
export function isValidPattern(pattern: string): boolean {
  return pattern.split('/').every((part) => compileComponent(part) !== undefined);
}

const cache = new Map<string, RegExp | undefined>();

function compileComponent(pattern: string): RegExp | undefined {
  if (cache.has(pattern)) return cache.get(pattern);
  const compiled = toRegExp(pattern);
  if (cache.size > 1024) cache.clear();
  cache.set(pattern, compiled);
  return compiled;
}

function toRegExp(pattern: string): RegExp | undefined {
  const chars = [...pattern];
  let source = '^';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '\\') {
      if (i + 1 >= chars.length) return undefined;
      source += literal(chars[++i] as string);
    } else if (ch === '[') {
      const cls = characterClass(chars, i + 1);
      if (cls === undefined) return undefined;
      source += cls.source;
      i = cls.end;
    } else {
      source += literal(ch);
    }
  }
  try {
    return new RegExp(`${source}$`, 'u');
  } catch {
    return undefined; // a range Go accepts but JS does not (lo > hi): matches nothing, as in Go
  }
}

/** `[...]` from `start` (just after `[`) to its `]`: the regexp class and the index of the `]`. */
function characterClass(chars: readonly string[], start: number): { source: string; end: number } | undefined {
  let i = start;
  let negated = false;
  if (chars[i] === '^') {
    negated = true;
    i++;
  }
  let body = '';
  let ranges = 0;
  for (;;) {
    if (i >= chars.length) return undefined;
    if (chars[i] === ']' && ranges > 0) return { source: `[${negated ? '^' : ''}${body}]`, end: i };
    const lo = classChar(chars, i);
    if (lo === undefined) return undefined;
    i = lo.next;
    body += literal(lo.ch);
    if (chars[i] === '-') {
      const hi = classChar(chars, i + 1);
      if (hi === undefined) return undefined;
      if ((hi.ch.codePointAt(0) as number) < (lo.ch.codePointAt(0) as number)) return undefined;
      i = hi.next;
      body += `-${literal(hi.ch)}`;
    }
    ranges++;
  }
}

/** One (possibly escaped) character of a class; `-` and `]` must be escaped there, as in Go. */
function classChar(chars: readonly string[], i: number): { ch: string; next: number } | undefined {
  const ch = chars[i];
  if (ch === undefined || ch === '-' || ch === ']') return undefined;
  if (ch !== '\\') return { ch, next: i + 1 };
  const escaped = chars[i + 1];
  return escaped === undefined ? undefined : { ch: escaped, next: i + 2 };
}

/** A character as a regexp literal: letters and digits as they are, anything else escaped by code point. */
function literal(ch: string): string {
  return /^[A-Za-z0-9]$/.test(ch) ? ch : `\\u{${(ch.codePointAt(0) as number).toString(16)}}`;
}
