import { posix } from 'node:path';

/**
 * `.dockerignore` as the docker CLI applies it when it sends a build context:
 *
 *   - one pattern a line; `#` starts a comment line; blank lines are skipped; white space
 *     around a pattern is trimmed;
 *   - `!pattern` re-includes what an earlier line excluded (the last matching line wins);
 *   - a pattern is cleaned (`./a/` is `a`) and relative to the context root (a leading `/`
 *     is dropped);
 *   - `*` matches within one path component, `?` one character but `/`, `[abc]` / `[a-z]` a
 *     class, `\` escapes the next character, `**` any number of components;
 *   - a path is excluded when a pattern matches it or one of its parent directories.
 *
 * berthd applies the file again on its side; the app's filtering keeps excluded files (a
 * node_modules, a .git) from being read and sent at all.
 */
interface Pattern {
  readonly text: string;
  readonly exclusion: boolean;
  readonly regexp: RegExp;
}

export class DockerIgnore {
  private constructor(private readonly patterns: readonly Pattern[]) {}

  static readonly none = new DockerIgnore([]);

  static parse(text: string): DockerIgnore {
    const patterns: Pattern[] = [];
    for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
      if (raw.startsWith('#')) continue;
      let pattern = raw.trim();
      if (pattern === '') continue;
      const exclusion = pattern.startsWith('!');
      if (exclusion) pattern = pattern.slice(1).trim();
      if (pattern === '') continue;
      pattern = clean(pattern);
      patterns.push({ text: pattern, exclusion, regexp: compile(pattern) });
    }
    return new DockerIgnore(patterns);
  }

  /** Whether `path` (context-relative, `/`-separated) is left out of the context. */
  excludes(path: string): boolean {
    const file = clean(path);
    if (file === '.' || this.patterns.length === 0) return false;
    const parents = file.split('/').slice(0, -1);
    let excluded = false;
    for (const pattern of this.patterns) {
      // Only an inclusion can change an excluded path, only an exclusion an included one.
      if (pattern.exclusion !== excluded) continue;
      let match = pattern.regexp.test(file);
      for (let i = 1; !match && i <= parents.length; i++) match = pattern.regexp.test(parents.slice(0, i).join('/'));
      if (match) excluded = !pattern.exclusion;
    }
    return excluded;
  }

  /** Whether an excluded directory may hold re-included entries (`!dir/keep`), so a walk must enter it. */
  mayReinclude(dir: string): boolean {
    const prefix = `${clean(dir)}/`;
    return this.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(prefix));
  }
}

function clean(path: string): string {
  const normal = posix.normalize(path.replace(/^\/+/, '') || '.');
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

function compile(pattern: string): RegExp {
  const chars = [...pattern];
  let source = '^';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        source += i + 1 >= chars.length ? '.*' : '(?:.*/)?';
      } else {
        source += '[^/]*';
      }
    } else if (ch === '?') {
      source += '[^/]';
    } else if (ch === '\\' && i + 1 < chars.length) {
      source += escape(chars[++i] as string);
    } else if (ch === '[') {
      const end = chars.indexOf(']', i + 1);
      if (end < 0) {
        source += escape(ch);
        continue;
      }
      const raw = chars.slice(i + 1, end);
      const negated = raw[0] === '^' || raw[0] === '!';
      const body = (negated ? raw.slice(1) : raw).map((c) => (c === '-' ? c : escape(c)));
      source += `[${negated ? '^' : ''}${body.join('')}]`;
      i = end;
    } else {
      source += escape(ch);
    }
  }
  return new RegExp(`${source}$`, 'u');
}

function escape(ch: string): string {
  return /^[A-Za-z0-9]$/.test(ch) ? ch : `\\u{${(ch.codePointAt(0) as number).toString(16)}}`;
}
