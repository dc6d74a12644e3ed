import { describe, expect, it } from 'vitest';
import {
  familiarName,
  familiarString,
  parseNormalizedNamed,
  refString,
  repoTagReference,
  storeReference,
  tagNameOnly,
} from '../../../runtime-agent/src/images/reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseNormalizedNamed', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox:x', 'docker.io/library/busybox:x', 'busybox:x'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/a/b:t', 'localhost:5000/a/b:t', 'localhost:5000/a/b:t'],
    ['registry.example.com/x/y/z:1', 'registry.example.com/x/y/z:1', 'registry.example.com/x/y/z:1'],
    ['[::1]:5000/app', '[::1]:5000/app:latest', '[::1]:5000/app:latest'],
    ['my_app-name.x__y', 'docker.io/library/my_app-name.x__y:latest', 'my_app-name.x__y:latest'],
  ])('%s → %s', (input, full, familiar) => {
    const ref = tagNameOnly(parseNormalizedNamed(input));
    expect(refString(ref)).toBe(full);
    expect(familiarString(ref)).toBe(familiar);
  });

  it('keeps digests and drops the tag when storing name:tag@digest', () => {
    const ref = parseNormalizedNamed(`busybox:1@${DIGEST}`);
    expect(ref.tag).toBe('1');
    expect(ref.digest).toBe(DIGEST);
    expect(familiarString(storeReference(ref))).toBe(`busybox@${DIGEST}`);
    expect(familiarName(ref)).toBe('busybox');
  });

  it.each([
    ['Foo', 'invalid reference format: repository name (library/Foo) must be lowercase'],
    ['user/Foo:tag', 'invalid reference format: repository name (user/Foo) must be lowercase'],
    ['busybox:', 'invalid reference format'],
    ['bad!name', 'invalid reference format'],
    ['-leading', 'invalid reference format'],
    ['a'.repeat(64), `invalid repository name (${'a'.repeat(64)}), cannot specify 64-byte hexadecimal strings`],
    ['x:' + 't'.repeat(129), 'invalid reference format'],
    ['busybox@sha256:abc', 'invalid reference format'],
    [`busybox@sha512:${'a'.repeat(64)}`, 'unsupported digest algorithm'],
  ])('refuses %s', (input, message) => {
    expect(() => parseNormalizedNamed(input)).toThrow(message);
  });

  it('treats an uppercase first component as a domain', () => {
    expect(refString(tagNameOnly(parseNormalizedNamed('Registry/app')))).toBe('Registry/app:latest');
  });
});

describe('repoTagReference', () => {
  it('combines repo and tag like Docker', () => {
    expect(repoTagReference('', '')).toBeUndefined();
    expect(familiarString(repoTagReference('img', '') ?? { domain: '', path: '' })).toBe('img:latest');
    expect(familiarString(repoTagReference('img:1', '') ?? { domain: '', path: '' })).toBe('img:1');
    expect(familiarString(repoTagReference('img:1', '2') ?? { domain: '', path: '' })).toBe('img:2');
    expect(() => repoTagReference(`img@${DIGEST}`, '')).toThrow('cannot import digest reference');
    expect(() => repoTagReference('img', 'bad tag')).toThrow('invalid tag format');
    expect(() => repoTagReference('sha256', 'x')).toThrow('ambiguous tag');
  });
});
