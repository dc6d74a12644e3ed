import { posix } from 'node:path';
import { invalid } from '../../errors.js';
import { isValidPattern } from './go-match.js';

/**
 * `.dockerignore`, as moby reads it (ignorefile.ReadAll) and matches it (patternmatcher):
 *
 *   - one pattern a line; a line starting with `#` is a comment; blank lines are skipped;
 *     surrounding white space is trimmed; a UTF-8 BOM on the first line is dropped;
 *   - `!pattern` re-includes what an earlier pattern excluded (the last matching line wins);
 *   - patterns are cleaned like Go's filepath.Clean (`./a/` is `a`, `a/../b` is `b`) and a
 *     leading `/` is dropped: everything is relative to the context root;
 *   - `*` matches within one component, `?` one character (not `/`), `[...]` a class, `\`
 *     escapes, and `**` any number of components (`**\/x`, `a/**`, `a/**\/b`);
 *   - a path is excluded when a pattern matches it or one of its parent directories.
 *
 * moby's matcher takes a shortcut for patterns starting with `**` (a plain suffix test, so
 * `**\/foo` also matches `xfoo`); here every pattern is matched by its regular expression,
 * which is what that shortcut means to do.
 */
export interface IgnorePattern {
  /** The cleaned pattern, without its `!`. */
  readonly text: string;
  readonly exclusion: boolean;
  readonly regexp: RegExp;
}

export class IgnoreRules {
  private constructor(readonly patterns: readonly IgnorePattern[]) {}

  static readonly none = new IgnoreRules([]);

  /** Parses the file's text; a malformed pattern is a 400 naming it, as Docker refuses the build. */
  static parse(text: string): IgnoreRules {
    const patterns: IgnorePattern[] = [];
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    for (const line of lines) {
      if (line.startsWith('#')) continue;
      let pattern = line.trim();
      if (pattern === '') continue;
      const exclusion = pattern.startsWith('!');
      if (exclusion) pattern = pattern.slice(1).trim();
      if (pattern === '') throw invalid('.dockerignore: illegal exclusion pattern: "!"');
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
      if (!isValidPattern(pattern)) throw invalid(`.dockerignore: syntax error in pattern "${line.trim()}"`);
      patterns.push({ text: pattern, exclusion, regexp: compile(pattern) });
    }
    return new IgnoreRules(patterns);
  }

  get hasExclusions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether `path` (context-relative, `/`-separated) is excluded (moby's MatchesOrParentMatches). */
  matches(path: string): boolean {
    const file = cleanPath(path).replace(/^\/+/, '');
    if (file === '.' || file === '' || this.patterns.length === 0) return false;
    const dirs = file.split('/').slice(0, -1);
    let matched = false;
    for (const pattern of this.patterns) {
      // An inclusion cannot change an excluded path, nor an exclusion an included one.
      if (pattern.exclusion !== matched) continue;
      let match = pattern.regexp.test(file);
      for (let i = 1; !match && i <= dirs.length; i++) match = pattern.regexp.test(dirs.slice(0, i).join('/'));
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * Whether an excluded directory may still hold re-included files, so a walk must enter it.
   * The docker CLI's rule when it sends the context: only an exception pattern that starts
   * with the directory's path can (`!dir/keep`); `!**\/keep` does not reach into an excluded `dir`.
   */
  mayReinclude(dir: string): boolean {
    const prefix = `${cleanPath(dir).replace(/^\/+/, '')}/`;
    return this.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(prefix));
  }
}

/** Go's filepath.Clean for `/` paths: `.` for nothing, no trailing `/`, `..` resolved lexically. */
export function cleanPath(path: string): string {
  if (path === '') return '.';
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/** The pattern as a regular expression over whole context-relative paths (patternmatcher's compile). */
function compile(pattern: string): RegExp {
  const chars = [...pattern];
  let source = '^';
  let inClass = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (inClass) {
      if (ch === ']') {
        inClass = false;
        source += ']';
      } else if (ch === '\\' && i + 1 < chars.length) {
        source += escape(chars[++i] as string);
      } else if (ch === '-' || (ch === '^' && chars[i - 1] === '[')) {
        source += ch;
      } else {
        source += escape(ch);
      }
    } else if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++; // `**/` is `**`
        source += i + 1 >= chars.length ? '.*' : '(.*/)?';
      } else {
        source += '[^/]*';
      }
    } else if (ch === '?') {
      source += '[^/]';
    } else if (ch === '\\') {
      source += i + 1 < chars.length ? escape(chars[++i] as string) : '\\\\';
    } else if (ch === '[') {
      inClass = true;
      source += '[';
    } else {
      source += escape(ch);
    }
  }
  return new RegExp(`${source}$`, 'u');
}

function escape(ch: string): string {
  return /^[A-Za-z0-9]$/.test(ch) ? ch : `\\u{${(ch.codePointAt(0) as number).toString(16)}}`;
}
