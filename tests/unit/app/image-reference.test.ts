import { describe, expect, it } from 'vitest';
import { checkImageReference, isValidTag, referenceText } from '../../../electron/shared/image-reference.js';

describe('checkImageReference', () => {
  it.each([
    ['busybox', { repository: 'busybox' }],
    ['busybox:1.36', { repository: 'busybox', tag: '1.36' }],
    ['127.0.0.1:5000/team/app:v1', { repository: '127.0.0.1:5000/team/app', tag: 'v1' }],
    ['localhost/app', { repository: 'localhost/app' }],
    ['Registry.Example.com/a__b/c-d.e', { repository: 'Registry.Example.com/a__b/c-d.e' }],
    [`app@sha256:${'a'.repeat(64)}`, { repository: 'app', digest: `sha256:${'a'.repeat(64)}` }],
  ])('accepts %s', (input, reference) => {
    expect(checkImageReference(input)).toEqual({ ok: true, reference });
  });

  it.each([
    ['', /Enter an image reference/],
    ['a b', /must not contain spaces/],
    ['UPPER/case', /must be lowercase/],
    ['Busybox', /must be lowercase/],
    ['app:', /a tag may hold/],
    ['app:-x', /a tag may hold/],
    ['app@sha256:123', /digest/],
    ['team//app', /empty name component/],
    ['team/app_', /may hold only lowercase/],
    [':tag', /name is missing/],
    ['bad_host:5000/app', /not a registry host/],
  ])('refuses %j with a message saying why', (input, why) => {
    const check = checkImageReference(input);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.message).toMatch(why);
  });

  it('writes :latest when neither tag nor digest is named', () => {
    expect(referenceText({ repository: 'busybox' })).toBe('busybox:latest');
    expect(referenceText({ repository: 'a/b', tag: '2' })).toBe('a/b:2');
    expect(referenceText({ repository: 'a', digest: 'sha256:x' })).toBe('a@sha256:x');
  });

  it('checks a tag on its own', () => {
    expect(isValidTag('v1.2_rc-3')).toBe(true);
    expect(isValidTag('.hidden')).toBe(false);
    expect(isValidTag('x'.repeat(129))).toBe(false);
  });
});
