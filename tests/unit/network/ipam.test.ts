import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { allocateAddress, chooseSubnet, formatCidr, macForAddress, parseCidr, planPool, subnetsInUse } from '../../../runtime-agent/src/network/ipam.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return isBerthError(err) ? err.code : 'not a BerthError';
  }
  return undefined;
};

describe('ipam', () => {
  it('picks 172.17.0.0/16 first, then the next free default pool', () => {
    expect(formatCidr(chooseSubnet([]))).toBe('172.17.0.0/16');
    expect(formatCidr(chooseSubnet([parseCidr('172.17.5.0/24', 'x', false)]))).toBe('172.18.0.0/16');
    const all172 = Array.from({ length: 15 }, (_, i) => parseCidr(`172.${17 + i}.0.0/16`));
    expect(formatCidr(chooseSubnet(all172))).toBe('192.168.0.0/20');
    expect(formatCidr(chooseSubnet([...all172, parseCidr('192.168.1.0/24')]))).toBe('192.168.16.0/20');
  });

  it('completes a pool: gateway = first host, checks --gateway and --ip-range, refuses overlaps', () => {
    expect(planPool({}, [])).toEqual({ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' });
    expect(planPool({ Subnet: '10.1.0.0/24', Gateway: '10.1.0.254', IPRange: '10.1.0.128/25' }, [])).toEqual({ Subnet: '10.1.0.0/24', Gateway: '10.1.0.254', IPRange: '10.1.0.128/25' });
    expect(code(() => planPool({ Subnet: '10.1.0.0/16' }, [parseCidr('10.1.2.0/24')]))).toBe('conflict');
    expect(code(() => planPool({ Subnet: '10.1.0.5/24' }, []))).toBe('invalid-parameter');
    expect(code(() => planPool({ Subnet: 'nonsense' }, []))).toBe('invalid-parameter');
    expect(code(() => planPool({ Subnet: '10.1.0.0/24', Gateway: '10.2.0.1' }, []))).toBe('invalid-parameter');
    expect(code(() => planPool({ Subnet: '10.1.0.0/24', IPRange: '10.9.0.0/25' }, []))).toBe('invalid-parameter');
    expect(code(() => planPool({ Gateway: '10.1.0.1' }, []))).toBe('invalid-parameter');
  });

  it('allocates the lowest free address of the range, skipping the gateway; validates --ip', () => {
    const pool = { Subnet: '10.1.0.0/29', Gateway: '10.1.0.1' };
    expect(allocateAddress(pool, new Set())).toBe('10.1.0.2');
    expect(allocateAddress(pool, new Set(['10.1.0.2', '10.1.0.3']))).toBe('10.1.0.4');
    expect(code(() => allocateAddress(pool, new Set(['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6'])))).toBe('conflict');
    expect(allocateAddress({ ...pool, IPRange: '10.1.0.4/30' }, new Set())).toBe('10.1.0.4');
    expect(allocateAddress(pool, new Set(), '10.1.0.6')).toBe('10.1.0.6');
    expect(code(() => allocateAddress(pool, new Set(['10.1.0.6']), '10.1.0.6'))).toBe('conflict');
    expect(code(() => allocateAddress(pool, new Set(), '10.1.0.1'))).toBe('conflict');
    expect(code(() => allocateAddress(pool, new Set(), '10.2.0.6'))).toBe('invalid-parameter');
    expect(code(() => allocateAddress(pool, new Set(), '10.1.0.7'))).toBe('invalid-parameter');
  });

  it('derives Docker\'s MAC from the address', () => {
    expect(macForAddress('172.17.0.2')).toBe('02:42:ac:11:00:02');
  });

  it('reads the subnets in use from ip -j route / addr, ignoring default and loopback', () => {
    const routes = JSON.stringify([{ dst: 'default', gateway: '10.0.0.1' }, { dst: '10.0.0.0/24' }, { dst: '172.17.3.4' }]);
    const addrs = JSON.stringify([{ ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] }, { ifname: 'e', addr_info: [{ family: 'inet', local: '192.168.5.9', prefixlen: 24 }, { family: 'inet6', local: 'fe80::1', prefixlen: 64 }] }]);
    expect(subnetsInUse(routes, addrs).map(formatCidr)).toEqual(['10.0.0.0/24', '172.17.3.4/32', '192.168.5.0/24']);
    expect(formatCidr(chooseSubnet(subnetsInUse(routes, addrs)))).toBe('172.18.0.0/16');
  });
});
