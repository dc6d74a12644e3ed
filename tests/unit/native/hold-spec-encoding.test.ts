import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { decodeHelperMessage } from '../../../runtime-agent/src/native/message-decoding.js';
import type { HoldSpec } from '../../../runtime-agent/src/native/protocol.js';
import { decodeSpecRecords, encodeHoldSpec } from '../../../runtime-agent/src/native/spec-encoding.js';

const writable: HoldSpec = {
  rootfs: { lower: ['/l/top', '/l/base'], upper: '/c/upper', work: '/c/work', target: '/run/c/hold' },
  mounts: [
    { source: '/v/data/_data', destination: '/data', type: 'bind', options: ['rbind', 'ro', 'rprivate'] },
    { source: 'tmpfs', destination: '/run', type: 'tmpfs', options: ['mode=1777'] },
  ],
};

function refusal(s: HoldSpec): string {
  try {
    encodeHoldSpec(s);
  } catch (err) {
    expect(isBerthError(err, 'invalid-parameter')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected the hold spec to be refused');
}

describe('encodeHoldSpec', () => {
  it('writes the layers, the target and the mounts, version first and end last', () => {
    const buf = encodeHoldSpec(writable);
    expect(buf.subarray(-4).toString()).toBe('end\0');
    expect(decodeSpecRecords(buf)).toEqual([
      ['version', '1'],
      ['lower', '/l/top'],
      ['lower', '/l/base'],
      ['upper', '/c/upper'],
      ['work', '/c/work'],
      ['target', '/run/c/hold'],
      ['mount', '/v/data/_data\t/data\tbind\trbind,ro,rprivate'],
      ['mount', 'tmpfs\t/run\ttmpfs\tmode=1777'],
    ]);
  });

  it('sends neither upper nor work for a read-only hold', () => {
    const records = decodeSpecRecords(encodeHoldSpec({ rootfs: { lower: ['/c/upper', '/l/base'], target: '/t' }, mounts: [] }));
    expect(records).toEqual([
      ['version', '1'],
      ['lower', '/c/upper'],
      ['lower', '/l/base'],
      ['target', '/t'],
    ]);
  });

  it('refuses upper without work and work without upper', () => {
    const { work: _w, ...noWork } = writable.rootfs;
    const { upper: _u, ...noUpper } = writable.rootfs;
    expect(refusal({ ...writable, rootfs: noWork })).toMatch(/rootfs.upper and rootfs.work go together/);
    expect(refusal({ ...writable, rootfs: noUpper })).toMatch(/rootfs.upper and rootfs.work go together/);
  });

  it('refuses what the helper could not carry, as for run', () => {
    const rootfs = writable.rootfs;
    expect(refusal({ ...writable, rootfs: { ...rootfs, lower: [] } })).toMatch(/rootfs.lower is empty/);
    expect(refusal({ ...writable, rootfs: { ...rootfs, lower: ['/a:b'] } })).toMatch(/rootfs.lower\[0\] holds ':'/);
    expect(refusal({ ...writable, rootfs: { ...rootfs, work: '/w,x' } })).toMatch(/rootfs.work holds ','/);
    expect(refusal({ ...writable, rootfs: { ...rootfs, target: 'relative' } })).toMatch(/rootfs.target must be an absolute path/);
    expect(refusal({ ...writable, rootfs: { ...rootfs, target: '/t\0' } })).toMatch(/rootfs.target contains a NUL byte/);
    const mount = { source: '/a\tb', destination: '/x', type: 'bind', options: [] };
    expect(refusal({ ...writable, mounts: [mount] })).toMatch(/mounts\[0\] holds a tab in source/);
    expect(refusal({ ...writable, mounts: [{ ...mount, source: '/a', destination: 'x' }] })).toMatch(/mounts\[0\].destination must be an absolute path/);
  });
});

describe('decodeHelperMessage (hold)', () => {
  it('decodes ready', () => {
    expect(decodeHelperMessage('ready')).toEqual({ type: 'ready' });
    expect(() => decodeHelperMessage('ready now')).toThrow(/expected pid\|started\|ready\|error\|exit/);
  });
});
