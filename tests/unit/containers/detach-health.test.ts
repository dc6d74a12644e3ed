import { describe, expect, it } from 'vitest';
import { DetachKeyFilter, parseDetachKeys } from '../../../runtime-agent/src/containers/detach-keys.js';
import { probeCommand, validateHealthcheck } from '../../../runtime-agent/src/containers/health.js';

describe('detach keys', () => {
  it('parses Docker\'s format', () => {
    expect([...parseDetachKeys(undefined)]).toEqual([16, 17]);
    expect([...parseDetachKeys('ctrl-a,x')]).toEqual([1, 120]);
    expect([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-_')]).toEqual([0, 27, 31]);
    expect(() => parseDetachKeys('ctrl-1')).toThrow(/Invalid detach keys/);
    expect(() => parseDetachKeys('alt-x')).toThrow(/Invalid detach keys/);
  });

  it('passes input through and detaches on the whole sequence, even split across chunks', () => {
    const f = new DetachKeyFilter(parseDetachKeys(undefined));
    expect(f.feed(Buffer.from('ls\n'))).toEqual({ pass: Buffer.from('ls\n'), detach: false });
    expect(f.feed(Buffer.from([0x61, 0x10]))).toEqual({ pass: Buffer.from('a'), detach: false });
    expect(f.feed(Buffer.from([0x11, 0x62]))).toEqual({ pass: Buffer.alloc(0), detach: true });
  });

  it('gives back a held ctrl-p when the sequence breaks', () => {
    const f = new DetachKeyFilter(parseDetachKeys(undefined));
    expect(f.feed(Buffer.from([0x10])).pass).toEqual(Buffer.alloc(0));
    expect(f.feed(Buffer.from('x'))).toEqual({ pass: Buffer.from([0x10, 0x78]), detach: false });
    expect(f.feed(Buffer.from([0x10, 0x10, 0x11])).detach).toBe(true);
  });
});

describe('health checks', () => {
  it('turns Test into the command Docker runs', () => {
    expect(probeCommand({ Test: ['CMD', 'true'] })).toEqual(['true']);
    expect(probeCommand({ Test: ['CMD-SHELL', 'test -f /ok'] })).toEqual(['/bin/sh', '-c', 'test -f /ok']);
    expect(probeCommand({ Test: ['NONE'] })).toBeUndefined();
    expect(probeCommand(undefined)).toBeUndefined();
  });
  it('refuses values Docker refuses', () => {
    expect(() => validateHealthcheck({ Test: ['SHELL', 'x'] })).toThrow(/must start with NONE, CMD or CMD-SHELL/);
    expect(() => validateHealthcheck({ Test: ['CMD', 'x'], Interval: 10 })).toThrow(/Interval in Healthcheck cannot be less than 1ms/);
    expect(() => validateHealthcheck({ Test: ['CMD', 'x'], Retries: -1 })).toThrow(/cannot be negative/);
    expect(() => validateHealthcheck({ Test: ['CMD', 'x'], Interval: 1_000_000, Retries: 2 })).not.toThrow();
  });
});
