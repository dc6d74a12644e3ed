import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { MountBits, parseMountOptions } from '../../../runtime-agent/src/volumes/mount-options.js';
import { newVolumeName, validateVolumeName } from '../../../runtime-agent/src/volumes/names.js';
import { validateDriverOptions } from '../../../runtime-agent/src/volumes/options.js';

function failure(fn: () => unknown): { code: string; message: string } | undefined {
  try {
    fn();
  } catch (err) {
    return isBerthError(err) ? { code: err.code, message: err.message } : { code: 'not a BerthError', message: String(err) };
  }
  return undefined;
}

describe('o= as mount(8) reads it', () => {
  it('splits flags, propagation and filesystem data, keeping the data in order', () => {
    expect(parseMountOptions('size=10m,nosuid,nodev,mode=700')).toEqual({
      flags: MountBits.NOSUID | MountBits.NODEV,
      propagation: 0,
      data: 'size=10m,mode=700',
    });
    expect(parseMountOptions('')).toEqual({ flags: 0, propagation: 0, data: '' });
    expect(parseMountOptions('addr=10.0.0.2,rw,nfsvers=4')).toEqual({ flags: 0, propagation: 0, data: 'addr=10.0.0.2,nfsvers=4' });
  });

  it('lets a later word undo an earlier one (ro,rw) and reads bind, rbind and propagation', () => {
    expect(parseMountOptions('ro,rw').flags).toBe(0);
    expect(parseMountOptions('rw,ro,noexec').flags).toBe(MountBits.RDONLY | MountBits.NOEXEC);
    expect(parseMountOptions('bind').flags).toBe(MountBits.BIND);
    expect(parseMountOptions('rbind,ro').flags).toBe(MountBits.BIND | MountBits.REC | MountBits.RDONLY);
    expect(parseMountOptions('bind,rprivate').propagation).toBe(MountBits.PRIVATE | MountBits.REC);
    expect(parseMountOptions('shared').propagation).toBe(MountBits.SHARED);
  });

  it('refuses words that would turn the volume mount into something else', () => {
    expect(failure(() => parseMountOptions('remount,ro'))?.code).toBe('invalid-parameter');
    expect(failure(() => parseMountOptions('move'))?.message).toContain('"move" cannot be used');
  });
});

describe('local driver options', () => {
  it('accepts Docker\'s tmpfs and bind forms and plain volumes', () => {
    expect(failure(() => validateDriverOptions('v1', {}))).toBeUndefined();
    expect(failure(() => validateDriverOptions('v1', { type: 'tmpfs', device: 'tmpfs', o: 'size=10m,uid=1000' }))).toBeUndefined();
    expect(failure(() => validateDriverOptions('v1', { type: 'none', device: '/srv/data', o: 'bind' }))).toBeUndefined();
    expect(failure(() => validateDriverOptions('v1', { type: 'nfs', device: ':/export', o: 'addr=10.0.0.2' }))).toBeUndefined();
    expect(failure(() => validateDriverOptions('v1', { size: '0' }))).toBeUndefined();
  });

  it('names the unknown option and the missing companion, as moby does', () => {
    expect(failure(() => validateDriverOptions('v1', { color: 'red' }))).toMatchObject({ code: 'invalid-parameter', message: expect.stringContaining('invalid option: "color"') });
    expect(failure(() => validateDriverOptions('v1', { type: 'tmpfs' }))?.message).toContain('missing required option: "device"');
    expect(failure(() => validateDriverOptions('v1', { device: 'tmpfs' }))?.message).toContain('missing required option: "type"');
    expect(failure(() => validateDriverOptions('v1', { o: 'size=1m', type: 'tmpfs' }))?.message).toContain('missing required option: "device"');
  });

  it('refuses a quota size (no quota support) and a relative bind device', () => {
    expect(failure(() => validateDriverOptions('v1', { size: '10m' }))?.message).toContain('quota size requested but no quota support');
    expect(failure(() => validateDriverOptions('v1', { size: 'lots' }))?.message).toContain("invalid size: 'lots'");
    expect(failure(() => validateDriverOptions('v1', { type: 'none', device: 'data', o: 'bind' }))?.message).toContain('absolute host path');
  });
});

describe('volume names', () => {
  it('accepts Docker\'s names and makes 64-hex anonymous ones', () => {
    for (const name of ['ab', 'my-vol', 'a.b_c-d', '0data']) expect(failure(() => validateVolumeName(name))).toBeUndefined();
    expect(newVolumeName()).toMatch(/^[0-9a-f]{64}$/);
    expect(newVolumeName()).not.toBe(newVolumeName());
  });

  it('refuses short names, bad characters and paths with Docker\'s messages', () => {
    expect(failure(() => validateVolumeName('a'))?.message).toBe('create a: volume name is too short, names should be at least two alphanumeric characters');
    for (const name of ['-ab', '.ab', 'a/b', '../x', 'a b', 'vol:ro', '']) {
      expect(failure(() => validateVolumeName(name)), name).toMatchObject({ code: 'invalid-parameter', message: expect.stringContaining('includes invalid characters') });
    }
    expect(failure(() => validateVolumeName('x'.repeat(256)))?.message).toContain('too long');
  });
});
