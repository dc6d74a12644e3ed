import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { EventPayload, LogLine } from '../../electron/shared/bridge.js';
import { BerthStatsFeed } from '../../electron/main/engine/berth-stats.js';
import { DockerStatsStreams, watchDockerStats } from '../../electron/main/engine/docker-stats.js';
import { useApp } from '../support/app.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

const TICKER = 'echo first; echo second; echo oops >&2; i=0; while :; do sleep 0.2; i=$((i+1)); echo tick-$i; done';

// Logs and live stats through the app's bridge, against a real berthd.
describe('app: logs and stats', () => {
  const daemon = useDaemon({ image: 'oci' });
  const app = useApp(daemon);

  it('logs:open answers the tail with streams and times, then follows without gaps or repeats until closed', async () => {
    const { bridge } = app();
    const { id } = await bridge.invoke('containers:run', { image: TEST_IMAGE, name: 'ticker', command: ['sh', '-c', TICKER], network: 'none' });
    await sleep(700);
    const pushed: LogLine[] = [];
    const off = bridge.on('logs:lines', (p) => {
      if (p.subscription === 'follow-1') pushed.push(...p.lines);
    });
    const tail = await bridge.invoke('logs:open', { id, tail: 1000, subscription: 'follow-1' });
    expect(tail.slice(0, 3).map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'first'],
      ['stdout', 'second'],
      ['stderr', 'oops'],
    ]);
    for (const l of tail) expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    const lastTick = Number(/tick-(\d+)/.exec(tail.at(-1)?.text ?? '')?.[1] ?? 0);
    for (let i = 0; i < 50 && pushed.length < 3; i++) await sleep(100);
    expect(pushed.length).toBeGreaterThanOrEqual(3);
    // The follow continues exactly where the tail ended.
    expect(pushed.slice(0, 3).map((l) => l.text)).toEqual([`tick-${lastTick + 1}`, `tick-${lastTick + 2}`, `tick-${lastTick + 3}`]);

    await bridge.invoke('subscription:close', { subscription: 'follow-1' });
    await sleep(100);
    const count = pushed.length;
    await sleep(700);
    expect(pushed.length).toBe(count);
    off();

    const short = await bridge.invoke('logs:open', { id, tail: 2 });
    expect(short).toHaveLength(2);
    expect(short[1]?.text).toMatch(/^tick-\d+$/);
    await expect(bridge.invoke('logs:open', { id: 'no-such-box', tail: 10 })).rejects.toThrow(/no such container/i);
    await expect(bridge.invoke('logs:open', { id, tail: -1 })).rejects.toThrow(/tail must be between 0/);
  });

  it('logs:downloadUrl streams the log as text over HTTP, only with the token', async () => {
    const { bridge } = app();
    const { url } = await bridge.invoke('logs:downloadUrl', { id: 'ticker', timestamps: false });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('content-disposition')).toMatch(/ticker\.log/);
    const body = await res.text();
    expect(body.startsWith('first\nsecond\n')).toBe(true);
    expect(body).toContain('oops\n');
    expect(body).toMatch(/tick-3\n/);

    const stamped = await (await fetch((await bridge.invoke('logs:downloadUrl', { id: 'ticker', timestamps: true })).url)).text();
    expect(stamped.split('\n')[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z first$/);

    const wrongToken = new URL(url);
    wrongToken.searchParams.set('token', 'nope');
    expect((await fetch(wrongToken)).status).toBe(403);
    await expect(bridge.invoke('logs:downloadUrl', { id: 'nobody', timestamps: false })).rejects.toThrow(/no such container/i);
  });

  it('reads a TTY container\'s log raw (no frames)', async () => {
    const { bridge } = app();
    const { id } = await bridge.invoke('containers:run', { image: TEST_IMAGE, name: 'tty-box', command: ['sh', '-c', 'echo tty-line; echo ümlaut; sleep 300'], network: 'none', tty: true });
    let lines: LogLine[] = [];
    for (let i = 0; i < 30 && lines.length < 2; i++) {
      lines = await bridge.invoke('logs:open', { id, tail: 10 });
      if (lines.length < 2) await sleep(100);
    }
    expect(lines.map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'tty-line'],
      ['stdout', 'ümlaut'],
    ]);
    expect(await bridge.invoke('containers:action', { ids: [id, 'ticker'], action: 'remove' })).toEqual({ failed: [] });
  });

  it('stats:watch pushes samples of exactly the watched ids at the interval, and stops when closed', async () => {
    const { bridge } = app();
    const a = await bridge.invoke('containers:run', { image: TEST_IMAGE, name: 'stats-a', command: ['sleep', '300'], network: 'none', memoryBytes: 64 * 1024 * 1024 });
    const b = await bridge.invoke('containers:run', { image: TEST_IMAGE, name: 'stats-b', command: ['sleep', '300'], network: 'none' });
    const got = new Map<string, EventPayload<'stats:samples'>[]>();
    const off = bridge.on('stats:samples', (p) => got.set(p.subscription, [...(got.get(p.subscription) ?? []), p]));
    await bridge.invoke('stats:watch', { subscription: 'only-a', ids: [a.id], intervalMs: 1000 });
    await bridge.invoke('stats:watch', { subscription: 'everything', ids: 'all', intervalMs: 1000 });
    await bridge.invoke('stats:watch', { subscription: 'a-slow', ids: [a.id, 'not-running'], intervalMs: 2000 });
    for (let i = 0; i < 60 && (got.get('only-a')?.length ?? 0) < 3; i++) await sleep(100);

    const onlyA = got.get('only-a') ?? [];
    expect(onlyA.length).toBeGreaterThanOrEqual(3);
    for (const tick of onlyA) expect(tick.samples.map((s) => s.id)).toEqual([a.id]);
    const sample = onlyA.at(-1)?.samples[0];
    expect(sample).toMatchObject({ id: a.id, name: 'stats-a', memoryLimit: 64 * 1024 * 1024 });
    expect(sample?.pids).toBeGreaterThanOrEqual(1);
    const gaps = onlyA.slice(1).map((t, i) => Date.parse(t.time) - Date.parse(onlyA[i]?.time ?? ''));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(700);
      expect(gap).toBeLessThan(1400);
    }
    const all = got.get('everything')?.at(-1)?.samples.map((s) => s.name).sort();
    expect(all).toEqual(expect.arrayContaining(['stats-a', 'stats-b']));
    const slow = got.get('a-slow') ?? [];
    expect(slow.length).toBeGreaterThanOrEqual(1);
    expect(slow.length).toBeLessThan(onlyA.length);
    for (const tick of slow) expect(tick.samples.map((s) => s.id)).toEqual([a.id]);

    for (const subscription of ['only-a', 'everything', 'a-slow']) await bridge.invoke('subscription:close', { subscription });
    await sleep(200);
    const counts = [...got.values()].map((v) => v.length);
    await sleep(2300);
    expect([...got.values()].map((v) => v.length)).toEqual(counts);
    off();
    await expect(bridge.invoke('stats:watch', { subscription: 'bad', ids: [a.id], intervalMs: 1500 as 1000 })).rejects.toThrow(/intervalMs must be one of 1000, 2000, 5000/);
    await bridge.invoke('containers:action', { ids: [a.id, b.id], action: 'remove' });
  });

  it('one /berth/stats stream serves every listener of an interval and closes with the last', async () => {
    const c = await daemon().dockerode.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'none' } });
    await c.start();
    const feed = new BerthStatsFeed(() => daemon().dockerode, 500);
    const seen: string[][] = [[], []];
    const offA = feed.listen((t) => seen[0]?.push(t.time));
    const offB = feed.listen((t) => seen[1]?.push(t.time));
    expect(feed.streaming).toBe(true);
    for (let i = 0; i < 40 && (seen[1]?.length ?? 0) < 2; i++) await sleep(100);
    // Both got the same ticks: one stream, not two.
    expect(seen[0]?.slice(0, 2)).toEqual(seen[1]?.slice(0, 2));
    offA();
    expect(feed.streaming).toBe(true);
    offB();
    expect(feed.streaming).toBe(false);
    const count = seen[1]?.length ?? 0;
    await sleep(800);
    expect(seen[1]?.length).toBe(count);
    await c.remove({ force: true });
  });

  it('samples per-container /containers/{id}/stats streams when the engine has no /berth/stats', async () => {
    const docker = daemon().dockerode;
    const c = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'none', Memory: 32 * 1024 * 1024 } });
    await c.start();
    const streams = new DockerStatsStreams(() => docker);
    const ticks: { time: string; ids: string[]; limit: number }[] = [];
    const stop = watchDockerStats(streams, async () => [], new Set([c.id]), 1000, (time, samples) => ticks.push({ time, ids: samples.map((s) => s.id), limit: samples[0]?.memoryLimit ?? 0 }));
    expect(streams.open).toBe(1);
    for (let i = 0; i < 60 && ticks.filter((t) => t.ids.length > 0).length < 2; i++) await sleep(100);
    const withSamples = ticks.filter((t) => t.ids.length > 0);
    expect(withSamples.length).toBeGreaterThanOrEqual(2);
    expect(withSamples[0]).toMatchObject({ ids: [c.id], limit: 32 * 1024 * 1024 });
    stop();
    expect(streams.open).toBe(0);
    await c.remove({ force: true });
  });
});
