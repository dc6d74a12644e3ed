import { describe, expect, it } from 'vitest';
import { parseBip, parseConfig, USAGE } from '../../runtime-agent/src/config.js';
import { isBerthError } from '../../runtime-agent/src/errors.js';

const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return isBerthError(err) ? `${err.code}: ${err.message}` : 'not a BerthError';
  }
  return 'no error';
};

describe('berthd --bip', () => {
  it('is absent unless given, and kept normalized when valid', () => {
    const plain = parseConfig([]);
    expect(plain).not.toBe('help');
    expect(plain === 'help' ? undefined : plain.bip).toBeUndefined();
    const withBip = parseConfig(['--bip', '172.30.0.1/16']);
    expect(withBip === 'help' ? undefined : withBip.bip).toBe('172.30.0.1/16');
    expect(parseBip(' 10.9.8.254/24 ')).toBe('10.9.8.254/24');
    expect(parseBip('10.0.0.5/8')).toBe('10.0.0.5/8');
    expect(parseBip('192.168.7.2/30')).toBe('192.168.7.2/30');
  });

  it('refuses what is not an IPv4 address with a prefix', () => {
    for (const bad of ['172.30.0.1', 'nonsense', '172.30.0.1/', '172.30.0.256/16', 'fd00::1/64', '172.30.0.1/x']) {
      expect(failure(() => parseBip(bad)), bad).toMatch(/^invalid-parameter: --bip must be an IPv4 address with a prefix length/);
    }
  });

  it('refuses a prefix outside 8..30', () => {
    expect(failure(() => parseBip('10.0.0.1/7'))).toMatch(/^invalid-parameter: .*between 8 and 30/);
    expect(failure(() => parseBip('10.0.0.1/31'))).toMatch(/between 8 and 30/);
    expect(failure(() => parseBip('10.0.0.1/32'))).toMatch(/between 8 and 30/);
  });

  it('refuses the network and broadcast addresses of the subnet', () => {
    expect(failure(() => parseBip('172.30.0.0/16'))).toMatch(/^invalid-parameter: .*network address.*172\.30\.0\.1\/16/);
    expect(failure(() => parseBip('172.30.255.255/16'))).toMatch(/^invalid-parameter: .*broadcast address/);
    expect(failure(() => parseBip('192.168.7.3/30'))).toMatch(/broadcast address/);
  });

  it('reports a bad --bip through parseConfig, and lists the flag in the usage', () => {
    expect(failure(() => parseConfig(['--bip', '172.30.0.0/16']))).toMatch(/network address/);
    expect(failure(() => parseConfig(['--bip']))).toMatch(/--bip/);
    expect(USAGE).toMatch(/--bip CIDR/);
  });
});
