import { describe, expect, it } from 'vitest';
import {
  anonymousVolumePoint,
  cleanPath,
  mergeTmpfsOptions,
  parentsFirst,
  parseBind,
  parseMount,
  parseTmpfs,
  parseVolumesFrom,
  volumesFromPoints,
} from '../../../runtime-agent/src/containers/mount-parse.js';
import type { ContainerRecord, MountPoint } from '../../../runtime-agent/src/containers/model.js';

/** The message of what `fn` throws (a BerthError's code too), for moby's exact texts. */
function refusal(fn: () => unknown): { code: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  }
  throw new Error('expected a refusal');
}

describe('parseBind (-v)', () => {
  it('reads named volumes, binds and anonymous volumes with their modes', () => {
    expect(parseBind('data:/srv/data').point).toEqual({
      Type: 'volume', Name: 'data', Source: '', Destination: '/srv/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '',
    });
    expect(parseBind('data:/srv/data:ro,nocopy').point).toMatchObject({ Name: 'data', Mode: 'ro,nocopy', RW: false, NoCopy: true });
    expect(parseBind('/host/dir/:/in/ctr/:ro,rshared,Z').point).toEqual({
      Type: 'bind', Source: '/host/dir', Destination: '/in/ctr', Mode: 'ro,rshared,Z', RW: false, Propagation: 'rshared',
    });
    expect(parseBind('/host:/x').point).toMatchObject({ Type: 'bind', Mode: '', RW: true, Propagation: 'rprivate' });
    expect(parseBind('/anon').point).toMatchObject({ Type: 'volume', Anonymous: true, Destination: '/anon', Mode: 'z' });
    expect(parseBind('/anon').point.Name).toBeUndefined();
  });

  it('refuses what Docker refuses, with its messages', () => {
    expect(refusal(() => parseBind('data:rel'))).toEqual({
      code: 'invalid-parameter',
      message: 'invalid volume specification: \'data:rel\': invalid mount config for type "volume": invalid mount path: \'rel\' mount path must be absolute',
    });
    expect(refusal(() => parseBind('/h:/')).message).toBe('invalid volume specification: \'/h:/\': invalid mount config for type "bind": invalid specification: destination can\'t be \'/\'');
    expect(refusal(() => parseBind('/x:ro')).message).toBe('invalid volume specification: \'/x:ro\'');
    expect(refusal(() => parseBind(':/x')).message).toBe('invalid volume specification: \':/x\'');
    expect(refusal(() => parseBind('a:/b:c:d')).message).toBe('invalid volume specification: \'a:/b:c:d\'');
    expect(refusal(() => parseBind('v:/x:ro,rw')).message).toBe('invalid mode: ro,rw');
    expect(refusal(() => parseBind('v:/x:bogus')).message).toBe('invalid mode: bogus');
    // Propagation is for binds, nocopy for volumes.
    expect(refusal(() => parseBind('v:/x:rshared')).message).toBe('invalid volume specification: \'v:/x:rshared\': invalid mount config for type "volume": field BindOptions must not be specified');
    expect(refusal(() => parseBind('/h:/x:nocopy')).message).toBe('invalid volume specification: \'/h:/x:nocopy\': invalid mount config for type "bind": field VolumeOptions must not be specified');
  });

  it('checks volume names as the local driver does', () => {
    expect(refusal(() => parseBind('a:/x')).message).toBe('create a: volume name is too short, names should be at least two alphanumeric characters');
    expect(refusal(() => parseBind('../etc:/x')).message).toMatch(/^create \.\.\/etc: "\.\.\/etc" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed\. If you intended to pass a host directory, use absolute path$/);
  });
});

describe('parseMount (--mount)', () => {
  it('reads binds, volumes and tmpfs', () => {
    const bind = parseMount({ Type: 'bind', Source: '/h', Target: '/t', ReadOnly: true, BindOptions: { Propagation: 'rslave' } });
    expect(bind.point).toEqual({ Type: 'bind', Source: '/h', Destination: '/t', Mode: '', RW: false, Propagation: 'rslave' });
    expect(bind.sourceMustExist).toBe(true);
    expect(parseMount({ Type: 'bind', Source: '/h', Target: '/t', BindOptions: { CreateMountpoint: true } }).sourceMustExist).toBe(false);

    const vol = parseMount({ Type: 'volume', Source: 'cache', Target: '/c', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } } });
    expect(vol.point).toMatchObject({ Type: 'volume', Name: 'cache', Mode: 'z', NoCopy: true, RW: true });
    expect(vol.volumeOptions).toEqual({ labels: { a: 'b' }, driverOptions: { type: 'tmpfs', device: 'tmpfs' } });
    expect(parseMount({ Type: 'volume', Target: '/anon' }).point).toMatchObject({ Anonymous: true });

    expect(parseMount({ Type: 'tmpfs', Target: '/run', TmpfsOptions: { SizeBytes: 64 * 2 ** 20, Mode: 0o1770 } }).point).toEqual({
      Type: 'tmpfs', Source: '', Destination: '/run', Mode: '', RW: true, Propagation: '',
      TmpfsOptions: ['noexec', 'nosuid', 'nodev', 'rprivate', 'mode=1770', 'size=64m'],
    });
    expect(parseMount({ Type: 'tmpfs', Target: '/r', ReadOnly: true, TmpfsOptions: { SizeBytes: 1000 } }).point).toMatchObject({
      RW: false, TmpfsOptions: ['noexec', 'nosuid', 'nodev', 'rprivate', 'ro', 'size=1000'],
    });
  });

  it('refuses bad configs with moby\'s messages', () => {
    const msg = (m: Parameters<typeof parseMount>[0]): string => refusal(() => parseMount(m)).message;
    expect(msg({ Type: 'bind', Target: '/t' })).toBe('invalid mount config for type "bind": field Source must not be empty');
    expect(msg({ Type: 'bind', Source: 'rel', Target: '/t' })).toBe('invalid mount config for type "bind": invalid mount path: \'rel\' mount path must be absolute');
    expect(msg({ Type: 'bind', Source: '/h', Target: '/t', BindOptions: { Propagation: 'sideways' } })).toBe('invalid mount config for type "bind": invalid propagation mode: sideways');
    expect(msg({ Type: 'volume', Source: 'v', Target: '' })).toBe('invalid mount config for type "volume": field Target must not be empty');
    expect(msg({ Type: 'volume', Source: 'v', Target: '/' })).toBe('invalid mount config for type "volume": invalid specification: destination can\'t be \'/\'');
    expect(msg({ Type: 'volume', Target: '/t', VolumeOptions: { Subpath: 'x' } })).toBe('invalid mount config for type "volume": must not set Subpath when using anonymous volumes');
    expect(msg({ Type: 'tmpfs', Source: 'x', Target: '/t' })).toBe('invalid mount config for type "tmpfs": field Source must not be specified');
    expect(msg({ Type: 'tmpfs', Target: '/t', BindOptions: {} })).toBe('invalid mount config for type "tmpfs": field BindOptions must not be specified');
    expect(msg({ Type: 'npipe', Source: 'x', Target: '/t' })).toBe('invalid mount config for type "npipe": mount type unknown');
    expect(msg({ Target: '/t' })).toBe('invalid mount config for type "": mount type unknown');
    expect(refusal(() => parseMount({ Type: 'volume', Target: '/t', VolumeOptions: { DriverConfig: { Name: 'nfs-plugin' } } }))).toEqual({
      code: 'not-found', message: 'error looking up volume plugin nfs-plugin: plugin "nfs-plugin" not found',
    });
  });
});

describe('tmpfs options', () => {
  it('puts Docker\'s defaults first and lets the user\'s options win', () => {
    expect(parseTmpfs('/run/', 'rw,size=64m,mode=1777')).toEqual({
      Type: 'tmpfs', Source: '', Destination: '/run', Mode: '', RW: true, Propagation: '',
      TmpfsOptions: ['noexec', 'nosuid', 'nodev', 'rprivate', 'rw', 'size=64m', 'mode=1777'],
    });
    expect(parseTmpfs('/x', 'exec,ro,shared').TmpfsOptions).toEqual(['nosuid', 'nodev', 'exec', 'ro', 'shared']);
    expect(parseTmpfs('/x', 'ro').RW).toBe(false);
    expect(parseTmpfs('/x', '').TmpfsOptions).toEqual(['noexec', 'nosuid', 'nodev', 'rprivate']);
    expect(mergeTmpfsOptions(['size=1m', 'size=2m'])).toEqual(['size=2m']);
  });
  it('refuses unknown options and bad destinations', () => {
    expect(refusal(() => parseTmpfs('/x', 'size=1m,colour=red')).message).toBe('invalid tmpfs option "colour"');
    expect(refusal(() => parseTmpfs('/x', 'bind')).message).toBe('invalid tmpfs option "bind"');
    expect(refusal(() => parseTmpfs('rel', '')).message).toBe('invalid mount path: \'rel\' mount path must be absolute');
    expect(refusal(() => parseTmpfs('/', '')).message).toBe('invalid specification: destination can\'t be \'/\'');
  });
});

describe('--volumes-from', () => {
  it('parses the container and mode', () => {
    expect(parseVolumesFrom('data')).toEqual({ ref: 'data', mode: 'rw' });
    expect(parseVolumesFrom('data:ro')).toEqual({ ref: 'data', mode: 'ro' });
    expect(refusal(() => parseVolumesFrom('')).message).toBe('volumes-from specification cannot be an empty string');
    expect(refusal(() => parseVolumesFrom('data:rshared')).message).toBe('invalid mode: rshared');
    expect(refusal(() => parseVolumesFrom('data:nocopy')).message).toBe('invalid mode: nocopy');
  });

  it('copies volumes and binds (not tmpfs), read-only when asked, never copying up again', () => {
    const points: MountPoint[] = [
      { Type: 'volume', Name: 'v1', Source: '/d/v1/_data', Destination: '/a', Driver: 'local', Mode: 'z', RW: true, Propagation: '', Anonymous: true },
      { Type: 'bind', Source: '/h', Destination: '/b', Mode: 'ro', RW: false, Propagation: 'rprivate' },
      { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '', TmpfsOptions: ['size=1m'] },
    ];
    const source = { MountPoints: points } as unknown as ContainerRecord;
    const ro = volumesFromPoints(source, 'ro');
    expect(ro).toEqual([
      { Type: 'volume', Name: 'v1', Source: '/d/v1/_data', Destination: '/a', Driver: 'local', Mode: '', RW: false, Propagation: '', Anonymous: true, NoCopy: true },
      { Type: 'bind', Source: '/h', Destination: '/b', Mode: '', RW: false, Propagation: 'rprivate' },
    ]);
    expect(volumesFromPoints(source, 'rw').map((m) => m.RW)).toEqual([true, false]);
  });
});

describe('helpers', () => {
  it('cleans paths as Go does', () => {
    expect(cleanPath('/a//b/../c/')).toBe('/a/c');
    expect(cleanPath('/')).toBe('/');
    expect(cleanPath('/../..')).toBe('/');
  });
  it('makes anonymous volumes for Config.Volumes', () => {
    expect(anonymousVolumePoint('/data/')).toEqual({ Type: 'volume', Source: '', Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '', Anonymous: true });
    expect(refusal(() => anonymousVolumePoint('data')).message).toBe('invalid mount path: \'data\' mount path must be absolute');
  });
  it('orders parents before children', () => {
    const order = parentsFirst(['/a/b/c', '/z', '/a/b', '/a', '/etc/hosts'].map((d) => ({ d })), (x) => x.d).map((x) => x.d);
    expect(order).toEqual(['/a', '/z', '/a/b', '/etc/hosts', '/a/b/c']);
  });
});
