import { describe, expect, it } from 'vitest';
import { IgnoreRules } from '../../../runtime-agent/src/build/files/dockerignore.js';
import { hasWildcards, isValidPattern, matchComponent } from '../../../runtime-agent/src/build/files/go-match.js';
import { isBerthError } from '../../../runtime-agent/src/errors.js';

/** Which of `paths` the .dockerignore text excludes. */
function excluded(text: string, paths: readonly string[]): string[] {
  const rules = IgnoreRules.parse(text);
  return paths.filter((path) => rules.matches(path));
}

describe('.dockerignore patterns (moby patternmatcher)', () => {
  it('`*` and `?` stay within a component; a match on a parent directory excludes what is below', () => {
    const paths = ['a.go', 'src/a.go', 'abc', 'a/c', 'dir', 'dir/x', 'dir/sub/y', 'dirx'];
    expect(excluded('*.go', paths)).toEqual(['a.go']);
    expect(excluded('a?c', paths)).toEqual(['abc']);
    expect(excluded('dir', paths)).toEqual(['dir', 'dir/x', 'dir/sub/y']);
    expect(excluded('dir/*', paths)).toEqual(['dir/x', 'dir/sub/y']);
    expect(excluded('[a-c]bc', paths)).toEqual(['abc']);
    expect(excluded('[^b]bc', ['abc', 'bbc'])).toEqual(['abc']);
  });

  it('`**` matches any number of components', () => {
    const paths = ['foo', 'a/foo', 'a/b/foo', 'xfoo', 'foo/bar', 'a/foo/bar/baz', 'x.tmp', 'a/b/c.tmp', 'z'];
    expect(excluded('**/foo', paths)).toEqual(['foo', 'a/foo', 'a/b/foo', 'foo/bar', 'a/foo/bar/baz']);
    expect(excluded('**/*.tmp', paths)).toEqual(['x.tmp', 'a/b/c.tmp']);
    expect(excluded('foo/**', paths)).toEqual(['foo/bar']);
    expect(excluded('a/**/baz', paths)).toEqual(['a/foo/bar/baz']);
    expect(excluded('**', paths)).toEqual(paths);
  });

  it('`!` re-includes; the last matching line wins', () => {
    const paths = ['README.md', 'CHANGES.md', 'docs/x.md', 'docs/keep/y.md'];
    expect(excluded('*.md\n!README.md', paths)).toEqual(['CHANGES.md']);
    expect(excluded('!README.md\n*.md', paths)).toEqual(['README.md', 'CHANGES.md']);
    expect(excluded('docs\n!docs/keep', paths)).toEqual(['docs/x.md']);
    expect(excluded('docs\n!docs/keep\ndocs/keep/y.md', paths)).toEqual(['docs/x.md', 'docs/keep/y.md']);
  });

  it('cleans patterns: comments, blanks, spaces, leading / and ./, trailing /, `..`, a BOM, CRLF', () => {
    const paths = ['abs', 'dot', 'dir', 'dir/f', 'b', 'spaced', '#x', 'bom', 'crlf'];
    expect(excluded('\uFEFFbom\r\n# a comment\n\n/abs\n./dot\ndir/\na/../b\n   spaced   \ncrlf\r\n', paths)).toEqual([
      'abs',
      'dot',
      'dir',
      'dir/f',
      'b',
      'spaced',
      'bom',
      'crlf',
    ]);
    expect(excluded('#x', paths)).toEqual([]); // a comment, not a pattern
    expect(excluded('\\#x', paths)).toEqual(['#x']);
    expect(excluded('! spaced', ['spaced'])).toEqual([]);
  });

  it('paths are matched cleaned; the root itself is never excluded', () => {
    const rules = IgnoreRules.parse('**\n');
    expect(rules.matches('./a')).toBe(true);
    expect(rules.matches('/a/b/')).toBe(true);
    expect(rules.matches('.')).toBe(false);
    expect(rules.matches('')).toBe(false);
    expect(IgnoreRules.none.matches('anything')).toBe(false);
  });

  it('escapes and regexp characters are literal', () => {
    expect(excluded('a\\*b', ['a*b', 'axb'])).toEqual(['a*b']);
    expect(excluded('file.(1)+$', ['file.(1)+$', 'fileX(1)+$', 'file.11'])).toEqual(['file.(1)+$']);
    expect(excluded('é*', ['été', 'ete'])).toEqual(['été']);
  });

  it('refuses malformed patterns and a lone `!` with a 400', () => {
    for (const bad of ['[', 'a[b', '[]', 'x\\', '!']) {
      let error: unknown;
      try {
        IgnoreRules.parse(`ok\n${bad}\n`);
      } catch (err) {
        error = err;
      }
      expect(isBerthError(error, 'invalid-parameter'), bad).toBe(true);
    }
  });

  it('mayReinclude: only an exception under the directory makes a walk enter it (the CLI rule)', () => {
    const rules = IgnoreRules.parse('node_modules\n!node_modules/keep\n');
    expect(rules.hasExclusions).toBe(true);
    expect(rules.mayReinclude('node_modules')).toBe(true);
    expect(rules.mayReinclude('other')).toBe(false);
    expect(IgnoreRules.parse('dir\n!**/keep\n').mayReinclude('dir')).toBe(false);
  });
});

describe("Go's filepath.Match (COPY wildcards, one component)", () => {
  it('matches *, ?, classes, negated classes and escapes', () => {
    expect(matchComponent('*.txt', 'a.txt')).toBe(true);
    expect(matchComponent('*.txt', '.txt')).toBe(true);
    expect(matchComponent('*.txt', 'a.txt.bak')).toBe(false);
    expect(matchComponent('?.c', 'x.c')).toBe(true);
    expect(matchComponent('?.c', 'xy.c')).toBe(false);
    expect(matchComponent('[a-c]*', 'banana')).toBe(true);
    expect(matchComponent('[a-c]*', 'date')).toBe(false);
    expect(matchComponent('[^a-c]*', 'date')).toBe(true);
    expect(matchComponent('[\\]]', ']')).toBe(true);
    expect(matchComponent('a\\*', 'a*')).toBe(true);
    expect(matchComponent('a\\*', 'ab')).toBe(false);
    expect(matchComponent('日?', '日本')).toBe(true);
    expect(matchComponent('a.b', 'axb')).toBe(false);
  });

  it('a malformed pattern matches nothing', () => {
    for (const bad of ['[', '[]', '[a-', '[z-a]', 'x\\', '[-a]']) {
      expect(matchComponent(bad, bad), bad).toBe(false);
      expect(isValidPattern(bad), bad).toBe(false);
    }
    expect(isValidPattern('a/*/[bc]')).toBe(true);
  });

  it('hasWildcards honours escapes', () => {
    expect(hasWildcards('src/*.c')).toBe(true);
    expect(hasWildcards('a?')).toBe(true);
    expect(hasWildcards('[ab]')).toBe(true);
    expect(hasWildcards('plain/path.txt')).toBe(false);
    expect(hasWildcards('a\\*')).toBe(false);
  });
});
