import { describe, expect, it } from 'vitest';
import { goFileMode, pathStatHeader } from '../../../runtime-agent/src/files/path-stat.js';
import type { FileInfo } from '../../../runtime-agent/src/files/types.js';

const base: FileInfo = { name: 'x', type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime: new Date('2019-10-21T13:39:33Z') };

describe('pathStatHeader', () => {
  it("encodes Go's os.FileMode: type flags at the top, set-id and sticky as flags", () => {
    // Values as docker's API returns them (e.g. a 0755 directory is 2147484141).
    expect(goFileMode({ type: 'directory', mode: 0o755 })).toBe(2147484141);
    expect(goFileMode({ type: 'symlink', mode: 0o777 })).toBe(134218239);
    expect(goFileMode({ type: 'file', mode: 0o644 })).toBe(420);
    expect(goFileMode({ type: 'file', mode: 0o4755 })).toBe(2 ** 23 + 0o755);
    expect(goFileMode({ type: 'file', mode: 0o2755 })).toBe(2 ** 22 + 0o755);
    expect(goFileMode({ type: 'directory', mode: 0o1777 })).toBe(2 ** 31 + 2 ** 20 + 0o777);
    expect(goFileMode({ type: 'char-device', mode: 0o666 })).toBe(2 ** 26 + 2 ** 21 + 0o666);
    expect(goFileMode({ type: 'block-device', mode: 0o660 })).toBe(2 ** 26 + 0o660);
    expect(goFileMode({ type: 'fifo', mode: 0o644 })).toBe(2 ** 25 + 0o644);
    expect(goFileMode({ type: 'socket', mode: 0o755 })).toBe(2 ** 24 + 0o755);
  });

  it('is the base64 of the JSON docker expects, fields in its order', () => {
    const header = pathStatHeader({ ...base, name: 'gzip', type: 'symlink', size: 12, mode: 0o777, linkTarget: '/bin/busybox' });
    const json = Buffer.from(header, 'base64').toString();
    expect(json).toBe('{"name":"gzip","size":12,"mode":134218239,"mtime":"2019-10-21T13:39:33Z","linkTarget":"/bin/busybox"}');
    expect(header).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const file = JSON.parse(Buffer.from(pathStatHeader({ ...base, mtime: new Date(1_600_000_000_123) }), 'base64').toString()) as Record<string, unknown>;
    expect(file).toEqual({ name: 'x', size: 0, mode: 420, mtime: '2020-09-13T12:26:40.123Z', linkTarget: '' });
  });
});
