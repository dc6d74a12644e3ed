import { describe, expect, it } from 'vitest';
import { parseUpstream } from '../../../runtime-agent/src/network/dns/forward.js';
import { buildQuery, RCODE_BADVERS, RCODE_FORMERR, RCODE_SERVFAIL, TYPE_A, TYPE_AAAA } from '../../../runtime-agent/src/network/dns/message.js';
import { hostResolvers, isLoopback } from '../../../runtime-agent/src/network/dns/resolv-conf.js';
import { Resolver } from '../../../runtime-agent/src/network/dns/resolver.js';

const NAMES: Record<string, string[]> = { web: ['10.0.0.2', '10.0.0.3', 'fd00::2'], 'web.mynet': ['10.0.0.2'], empty: [] };

function resolver(lookup: (name: string) => string[] | undefined = (name) => NAMES[name]): Resolver {
  return new Resolver({ lookup, upstreams: [], ttl: 600, forwardTimeoutMs: 100, maxInFlight: 4 });
}

async function ask(r: Resolver, packet: Buffer) {
  const reply = await r.answer(packet, 'udp');
  if (!reply) return undefined;
  return { id: reply.readUInt16BE(0), aa: ((reply[2] as number) & 0x04) !== 0, rcode: reply.readUInt16BE(2) & 0xf, ancount: reply.readUInt16BE(6) };
}

describe('the network resolver', () => {
  it('answers A for a known name, case-insensitively and without the trailing dot', async () => {
    const seen: string[] = [];
    const r = resolver((name) => (seen.push(name), NAMES[name]));
    expect(await ask(r, buildQuery(1, 'WEB.', TYPE_A))).toEqual({ id: 1, aa: true, rcode: 0, ancount: 2 });
    expect(await ask(r, buildQuery(2, 'Web.MyNet', TYPE_A))).toMatchObject({ rcode: 0, ancount: 1 });
    expect(seen).toEqual(['web', 'web.mynet']);
  });

  it('answers a known name with no address of the family, or another type, with empty NOERROR', async () => {
    const r = resolver();
    expect(await ask(r, buildQuery(3, 'web.mynet', TYPE_AAAA))).toMatchObject({ rcode: 0, ancount: 0 });
    expect(await ask(r, buildQuery(4, 'web', TYPE_AAAA))).toMatchObject({ rcode: 0, ancount: 1 });
    expect(await ask(r, buildQuery(5, 'web', 15 /* MX */))).toMatchObject({ rcode: 0, ancount: 0 });
    expect(await ask(r, buildQuery(6, 'empty', TYPE_A))).toMatchObject({ rcode: 0, ancount: 0 });
  });

  it('answers SERVFAIL for other names without upstreams, and when lookup throws', async () => {
    expect(await ask(resolver(), buildQuery(7, 'example.com', TYPE_A))).toMatchObject({ id: 7, rcode: RCODE_SERVFAIL });
    const broken = resolver(() => {
      throw new Error('store gone');
    });
    expect(await ask(broken, buildQuery(8, 'web', TYPE_A))).toMatchObject({ rcode: RCODE_SERVFAIL });
  });

  it('answers FORMERR to malformed queries, BADVERS to EDNS > 0, nothing to garbage', async () => {
    const r = resolver();
    expect(await ask(r, Buffer.from('000901000002000000000000', 'hex'))).toMatchObject({ id: 9, rcode: RCODE_FORMERR });
    const v1 = buildQuery(10, 'web', TYPE_A, { edns: true });
    v1[v1.length - 5] = 1; // OPT version
    const reply = await r.answer(v1, 'udp');
    expect(reply?.readUInt8(reply.length - 6)).toBe(RCODE_BADVERS >> 4);
    expect(await ask(r, Buffer.from('hello'))).toBeUndefined();
  });
});

describe('upstream addresses', () => {
  it('parses addresses with optional ports', () => {
    expect(parseUpstream('10.0.0.1')).toEqual({ address: '10.0.0.1', port: 53 });
    expect(parseUpstream('10.0.0.1:5353')).toEqual({ address: '10.0.0.1', port: 5353 });
    expect(parseUpstream('fd00::1')).toEqual({ address: 'fd00::1', port: 53 });
    expect(parseUpstream('[fd00::1]:5353')).toEqual({ address: 'fd00::1', port: 5353 });
    for (const bad of ['', 'dns.example', '10.0.0.1:0', '10.0.0.1:70000', 'fd00::1:x', '[fd00::1]']) {
      expect(() => parseUpstream(bad), bad).toThrow(/invalid DNS upstream/);
    }
  });

  it('takes the host resolvers from resolv.conf, without loopback ones', () => {
    const text = [
      '# Generated',
      'nameserver 127.0.0.53',
      'nameserver 192.168.1.1 ; the router',
      'search lan',
      'nameserver ::1',
      'nameserver 2001:db8::53',
      'nameserver 192.168.1.1',
      'nameserver not-an-ip',
      '  nameserver\t10.0.0.53',
      'options edns0 trust-ad',
    ].join('\n');
    expect(hostResolvers(text)).toEqual(['192.168.1.1', '2001:db8::53', '10.0.0.53']);
    expect(hostResolvers('')).toEqual([]);
    expect(['127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', 'fe80::1', '128.0.0.1', 'localhost'].some(isLoopback)).toBe(false);
  });
});
