import { describe, expect, it } from 'vitest';
import { networkIo, networkPidOf, parseNetDev, readNetworks } from '../../../runtime-agent/src/stats/net-dev.js';

/** /proc/<pid>/net/dev of a container on two networks (a real kernel's layout). */
const SAMPLE = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1344      16    0    0    0     0          0         0     1344      16    0    0    0     0       0          0
  eth0: 1090524     812    0    3    0     0          0         0    53290     741    0    0    0     0       0          0
  eth1:     866       9    2    0    0     0          0         1      726       9    0    5    0     0       0          0
`;

describe('/proc/net/dev', () => {
  it('parses each interface into Docker\'s NetworkStats, skipping lo and the headers', () => {
    expect(parseNetDev(SAMPLE)).toEqual({
      eth0: { rx_bytes: 1090524, rx_packets: 812, rx_errors: 0, rx_dropped: 3, tx_bytes: 53290, tx_packets: 741, tx_errors: 0, tx_dropped: 0 },
      eth1: { rx_bytes: 866, rx_packets: 9, rx_errors: 2, rx_dropped: 0, tx_bytes: 726, tx_packets: 9, tx_errors: 0, tx_dropped: 5 },
    });
    expect(Object.keys(parseNetDev(SAMPLE))).toEqual(['eth0', 'eth1']);
  });

  it('takes counters glued to the colon and beyond 2^32, and ignores malformed lines', () => {
    const text = 'eth0:12345678901 2 0 0 0 0 0 0 7 1 0 0 0 0 0 0\nbroken: 1 2 3\nveth9: a b c d e f g h i j k l m n o p\n';
    expect(parseNetDev(text)).toEqual({
      eth0: { rx_bytes: 12345678901, rx_packets: 2, rx_errors: 0, rx_dropped: 0, tx_bytes: 7, tx_packets: 1, tx_errors: 0, tx_dropped: 0 },
    });
    expect(parseNetDev('')).toEqual({});
  });

  it('reads /proc/<pid>/net/dev; only lo, no pid or a vanished process give undefined (networks omitted)', () => {
    const paths: string[] = [];
    expect(readNetworks(42, (p) => (paths.push(p), SAMPLE))?.eth0?.rx_bytes).toBe(1090524);
    expect(paths).toEqual(['/proc/42/net/dev']);
    const onlyLo = SAMPLE.split('\n').filter((l) => !l.includes('eth')).join('\n');
    expect(readNetworks(42, () => onlyLo)).toBeUndefined();
    expect(readNetworks(undefined, () => SAMPLE)).toBeUndefined();
    expect(
      readNetworks(42, () => {
        throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      }),
    ).toBeUndefined();
  });

  it('reads a real /proc/<pid>/net/dev by default (this process\'s netns)', () => {
    const networks = readNetworks(process.pid);
    expect(networks === undefined || !('lo' in networks)).toBe(true);
    for (const n of Object.values(networks ?? {})) expect(n.rx_bytes).toBeGreaterThanOrEqual(0);
  });

  it('the netns pid: the init for bridge/user networks, none for host, none and container:<id>', () => {
    expect(networkPidOf(undefined, 100)).toBe(100);
    expect(networkPidOf('bridge', 100)).toBe(100);
    expect(networkPidOf('default', 100)).toBe(100);
    expect(networkPidOf('mynet', 100)).toBe(100);
    expect(networkPidOf('host', 100)).toBeUndefined();
    expect(networkPidOf('none', 100)).toBeUndefined();
    expect(networkPidOf(`container:${'a'.repeat(64)}`, 100)).toBeUndefined();
    expect(networkPidOf('bridge', 0)).toBeUndefined();
  });

  it('sums rx/tx bytes over the interfaces, 0 without networks (the CLI\'s NET I/O)', () => {
    expect(networkIo(parseNetDev(SAMPLE))).toEqual({ rx: 1090524 + 866, tx: 53290 + 726 });
    expect(networkIo(undefined)).toEqual({ rx: 0, tx: 0 });
  });
});

