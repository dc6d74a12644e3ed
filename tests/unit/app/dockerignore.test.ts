import { describe, expect, it } from 'vitest';
import { DockerIgnore } from '../../../electron/main/services/dockerignore.js';

describe('DockerIgnore', () => {
  const rules = DockerIgnore.parse(['# comment', '', 'node_modules', '*.log', '/build/', 'docs/**/*.md', '!docs/keep.md', 'tmp?', '[ab].txt', 'secret\\*'].join('\n'));

  it.each([
    ['node_modules', true],
    ['node_modules/x/index.js', true],
    ['src/node_modules', false],
    ['app.log', true],
    ['logs/app.log', false],
    ['build', true],
    ['build/out.js', true],
    ['docs/a/b/c.md', true],
    ['docs/x.md', true],
    ['docs/keep.md', false],
    ['tmp1', true],
    ['tmp12', false],
    ['a.txt', true],
    ['c.txt', false],
    ['secret*', true],
    ['secretx', false],
    ['src/main.ts', false],
    ['Dockerfile', false],
  ])('%s excluded: %s', (path, excluded) => {
    expect(rules.excludes(path)).toBe(excluded);
  });

  it('matches ** anywhere', () => {
    const r = DockerIgnore.parse('**/*.tmp\n**/.git');
    expect(r.excludes('a.tmp')).toBe(true);
    expect(r.excludes('x/y/z.tmp')).toBe(true);
    expect(r.excludes('x/.git/config')).toBe(true);
    expect(r.excludes('x/git')).toBe(false);
  });

  it('lets a walk enter an excluded folder only for an exception inside it', () => {
    const r = DockerIgnore.parse('vendor\n!vendor/keep');
    expect(r.excludes('vendor/drop')).toBe(true);
    expect(r.excludes('vendor/keep')).toBe(false);
    expect(r.mayReinclude('vendor')).toBe(true);
    expect(DockerIgnore.parse('vendor').mayReinclude('vendor')).toBe(false);
  });

  it('excludes nothing without patterns', () => {
    expect(DockerIgnore.none.excludes('anything')).toBe(false);
  });
});
