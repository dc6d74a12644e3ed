import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { parseFeedInterval, StatsFeed, type FeedTick } from '../../../runtime-agent/src/stats/feed.js';
import { cpuPercent, type StatsJson } from '../../../runtime-agent/src/stats/sample.js';
import { ContainerStatsHub, serveContainerStats, type LineSink } from '../../../runtime-agent/src/stats/stream.js';
import { FakeSource } from './fake-source.js';

/** A sink that records lines and "closes" (the client leaves) after `limit` of them. */
function recordingSink(limit: number): LineSink & { lines: StatsJson[]; ended: boolean; backedUp: boolean } {
  let leave: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (leave = resolve));
  const sink = {
    lines: [] as StatsJson[],
    ended: false,
    backedUp: false,
    write(line: string) {
      sink.lines.push(JSON.parse(line) as StatsJson);
      if (sink.lines.length >= limit) leave();
    },
    end() {
      sink.ended = true;
    },
    closed,
  };
  return sink;
}

const ID = 'c'.repeat(64);

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     500       5    0    0    0     0          0         0      500       5    0    0    0     0       0          0
  eth0: 1048576     800    1    2    0     0          0         0     4096      40    3    4    0     0       0          0
  eth1:    1000      10    0    0    0     0          0         0      200       2    0    0    0     0       0          0
`;

describe('GET /containers/{id}/stats', () => {
  it('streams one sample at once, then one per tick, each carrying the previous one', async () => {
    const source = new FakeSource();
    source.add(ID, 'web');
    const hub = new ContainerStatsHub(source, source, 40);
    const sink = recordingSink(3);
    await serveContainerStats(hub, source.resolve('web'), sink, { stream: true, oneShot: false });
    expect(sink.ended).toBe(true);
    expect(hub.watched).toBe(0); // unsubscribed: the timer is gone
    const [a, b, c] = sink.lines as [StatsJson, StatsJson, StatsJson];
    expect(a.precpu_stats.cpu_usage.total_usage).toBe(0);
    expect(b.preread).toBe(a.read);
    expect(c.precpu_stats).toEqual(b.cpu_stats);
    expect(cpuPercent(c.precpu_stats, c.cpu_stats)).toBeCloseTo(50, 5);
    expect(c.name).toBe('/web');
  });

  it('shares one tick among the clients of a container: one cgroup and one /proc/stat reading', async () => {
    const source = new FakeSource();
    source.add(ID, 'web');
    const hub = new ContainerStatsHub(source, source, 40);
    const sinks = [recordingSink(3), recordingSink(3), recordingSink(3)];
    await Promise.all(sinks.map((s) => serveContainerStats(hub, source.resolve(ID), s, { stream: true, oneShot: false })));
    // 3 first samples (one each) + 2 shared ticks, not 3 × 3 readings.
    expect(source.cgroupReads).toBeLessThanOrEqual(6);
    expect(sinks.map((s) => s.lines[2]?.read)).toEqual(Array(3).fill(sinks[0]?.lines[2]?.read));
  });

  it('streams zero samples for a stopped container, real ones once it runs, and ends when it is removed', async () => {
    const source = new FakeSource();
    const c = source.add(ID, 'web', { running: false });
    const hub = new ContainerStatsHub(source, source, 40);
    const sink = recordingSink(100);
    const serving = serveContainerStats(hub, source.resolve(ID), sink, { stream: true, oneShot: false });
    await sleep(100);
    c.running = true;
    await sleep(100);
    source.containers.delete(ID);
    await serving;
    expect(sink.ended).toBe(true);
    expect(sink.lines[0]?.read).toBe('0001-01-01T00:00:00Z');
    expect(sink.lines[0]?.memory_stats).toEqual({});
    expect(sink.lines.at(-1)?.memory_stats.usage).toBe(10_000);
  });

  it('stream=0 waits for a second reading so precpu is real; one-shot answers at once; stopped gives zeros', async () => {
    const source = new FakeSource();
    source.add(ID, 'web');
    source.add('d'.repeat(64), 'down', { running: false });
    const hub = new ContainerStatsHub(source, source, 60);

    const single = recordingSink(1);
    const t0 = Date.now();
    await serveContainerStats(hub, source.resolve('web'), single, { stream: false, oneShot: false });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
    const s = single.lines[0] as StatsJson;
    expect(single.lines).toHaveLength(1);
    expect(s.preread).not.toBe('0001-01-01T00:00:00Z');
    expect(cpuPercent(s.precpu_stats, s.cpu_stats)).toBeCloseTo(50, 5);

    const oneShot = recordingSink(1);
    await serveContainerStats(hub, source.resolve('web'), oneShot, { stream: false, oneShot: true });
    expect(oneShot.lines[0]?.precpu_stats.cpu_usage.total_usage).toBe(0);

    const down = recordingSink(1);
    await serveContainerStats(hub, source.resolve('down'), down, { stream: false, oneShot: false });
    expect(down.lines[0]?.read).toBe('0001-01-01T00:00:00Z');
    expect(down.lines[0]?.name).toBe('/down');
  });

  it('drops samples for a client that does not keep up', async () => {
    const source = new FakeSource();
    source.add(ID, 'web');
    const hub = new ContainerStatsHub(source, source, 20);
    const sink = recordingSink(100);
    sink.backedUp = true;
    const serving = serveContainerStats(hub, source.resolve(ID), sink, { stream: true, oneShot: false });
    await sleep(150);
    source.containers.delete(ID);
    await serving;
    expect(sink.lines).toHaveLength(1); // only the first, written before anything queued
  });
});

describe('GET /berth/stats', () => {
  it('validates the interval: default 1000, 100..60000 ms, integers only', () => {
    expect(parseFeedInterval(null)).toBe(1000);
    expect(parseFeedInterval('')).toBe(1000);
    expect(parseFeedInterval('100')).toBe(100);
    expect(parseFeedInterval('60000')).toBe(60000);
    for (const bad of ['99', '60001', 'abc', '1.5', '-100']) {
      let err: unknown;
      try {
        parseFeedInterval(bad);
      } catch (e) {
        err = e;
      }
      expect(isBerthError(err, 'invalid-parameter'), bad).toBe(true);
    }
  });

  it('samples every running container once per tick from one timer per interval, with CPU % from the first line', async () => {
    const source = new FakeSource();
    source.add('a'.repeat(64), 'one');
    source.add('b'.repeat(64), 'two', { memory: 50_000, inactiveFile: 10_000 });
    source.add('e'.repeat(64), 'off', { running: false });
    const feed = new StatsFeed(source, source);
    const ticks: FeedTick[] = [];
    const other: FeedTick[] = [];
    const stopA = feed.subscribe(100, (t) => ticks.push(t));
    const stopB = feed.subscribe(100, (t) => other.push(t));
    expect(feed.timers).toBe(1);
    await sleep(330);
    stopA();
    stopB();
    expect(feed.timers).toBe(0);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(other).toEqual(ticks); // the same sampling, shared
    const first = ticks[0] as FeedTick;
    expect(Date.parse(first.time)).not.toBeNaN();
    expect(first.containers.map((c) => c.name)).toEqual(['one', 'two']);
    expect(first.containers[1]).toEqual({
      id: 'b'.repeat(64),
      name: 'two',
      cpuPercent: 50,
      memoryUsage: 40_000,
      memoryLimit: 64 * 1024 * 1024,
      pids: 1,
      blkioRead: 100,
      blkioWrite: 50,
      netRx: 0,
      netTx: 0,
    });
    // One /proc/stat reading per tick (plus the baseline), whatever the number of containers.
    expect(source.systemReads).toBe(ticks.length + 1);
  });

  it('adds netRx/netTx: the interfaces\' bytes summed (lo left out), one net/dev read per container per tick', async () => {
    const source = new FakeSource();
    source.add('a'.repeat(64), 'bridged', { netPid: 4242, netDev: NET_DEV });
    source.add('b'.repeat(64), 'hosted'); // host/none: no netns pid
    const feed = new StatsFeed(source, source);
    const ticks: FeedTick[] = [];
    const stop = feed.subscribe(100, (t) => ticks.push(t));
    await sleep(230);
    stop();
    expect(ticks.length).toBeGreaterThanOrEqual(1);
    const [bridged, hosted] = (ticks[0] as FeedTick).containers;
    expect(bridged).toMatchObject({ name: 'bridged', netRx: 1048576 + 1000, netTx: 4096 + 200 });
    expect(hosted).toMatchObject({ name: 'hosted', netRx: 0, netTx: 0 });
    expect(source.netDevReads.every((p) => p === '/proc/4242/net/dev')).toBe(true);
    expect(source.netDevReads.length).toBe(source.cgroupReads / 2); // one per tick of the bridged one
  });

});

describe('network I/O in the container stats', () => {
  it('the container stats JSON has networks for a container with its own netns, none without', async () => {
    const source = new FakeSource();
    source.add(ID, 'web', { netPid: 77, netDev: NET_DEV });
    source.add('d'.repeat(64), 'isolated');
    const hub = new ContainerStatsHub(source, source, 50);
    const web = recordingSink(1);
    await serveContainerStats(hub, source.resolve('web'), web, { stream: false, oneShot: true });
    const sample = web.lines[0] as StatsJson;
    expect(Object.keys(sample).slice(-3)).toEqual(['name', 'id', 'networks']);
    expect(Object.keys(sample.networks ?? {})).toEqual(['eth0', 'eth1']);
    expect(sample.networks?.eth0).toEqual({ rx_bytes: 1048576, rx_packets: 800, rx_errors: 1, rx_dropped: 2, tx_bytes: 4096, tx_packets: 40, tx_errors: 3, tx_dropped: 4 });
    const isolated = recordingSink(1);
    await serveContainerStats(hub, source.resolve('isolated'), isolated, { stream: false, oneShot: true });
    expect(isolated.lines[0]).not.toHaveProperty('networks');
  });

  it('a process gone between the cgroup and the net/dev read gives a sample without networks', async () => {
    const source = new FakeSource();
    source.add(ID, 'web', { netPid: 77 }); // no net/dev text: the read fails with ENOENT
    const hub = new ContainerStatsHub(source, source, 50);
    const sink = recordingSink(1);
    await serveContainerStats(hub, source.resolve('web'), sink, { stream: false, oneShot: true });
    expect(sink.lines[0]?.memory_stats.usage).toBe(10_000);
    expect(sink.lines[0]).not.toHaveProperty('networks');
  });
});
