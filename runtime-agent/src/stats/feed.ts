/**
 * The Berth extension `GET /berth/stats?interval=<ms>`: every running container sampled from
 * one timer, one JSON line per tick (documented in docs/berth-api.md):
 *
 *   {"time":"2024-05-01T10:00:00.123Z","containers":[{"id","name","cpuPercent","memoryUsage",
 *    "memoryLimit","pids","blkioRead","blkioWrite","netRx","netTx"}]}
 *
 * Clients asking for the same interval share one timer and one sampling per tick: /proc/stat
 * read once, each container's cgroup files and its /proc/<pid>/net/dev read once, nothing
 * spawned. A baseline reading is taken when a timer starts so the first line already has CPU
 * percentages; a container seen for the first time reports 0 % until its second tick.
 */
import { invalid, messageOf } from '../errors.js';
import { log } from '../log.js';
import type { CgroupStats } from '../cgroups/cgroup.js';
import { networkIo } from './net-dev.js';
import { blockIo, cpuPercentOf, memoryUsageNoCache } from './sample.js';
import { readContainer, type StatsSource, type SystemCpuSource } from './source.js';

export const FEED_DEFAULT_MS = 1000;
export const FEED_MIN_MS = 100;
export const FEED_MAX_MS = 60_000;

export interface FeedContainer {
  id: string;
  /** Without the leading slash. */
  name: string;
  /** As `docker stats` shows it: share of one CPU × 100 (200 = two CPUs busy). */
  cpuPercent: number;
  /** Bytes in use without the page cache (usage − inactive file), as `docker stats` shows. */
  memoryUsage: number;
  /** The limit, or the host's memory when unlimited. */
  memoryLimit: number;
  pids: number;
  /** Bytes read from / written to block devices since the container started. */
  blkioRead: number;
  blkioWrite: number;
  /**
   * Bytes received / transmitted on the container's interfaces (lo excluded) since they were
   * made, summed; 0 for host, none and container:<id> networking.
   */
  netRx: number;
  netTx: number;
}

export interface FeedTick {
  /** RFC 3339 time of the sampling. */
  time: string;
  containers: FeedContainer[];
}

/** Parses `interval` (ms): default 1000, integer within [100, 60000], else a 400. */
export function parseFeedInterval(value: string | null): number {
  if (value === null || value === '') return FEED_DEFAULT_MS;
  if (!/^\d+$/.test(value)) throw invalid(`invalid interval "${value}": expected milliseconds between ${FEED_MIN_MS} and ${FEED_MAX_MS}`);
  const ms = Number(value);
  if (ms < FEED_MIN_MS || ms > FEED_MAX_MS) {
    throw invalid(`invalid interval ${ms}: expected milliseconds between ${FEED_MIN_MS} and ${FEED_MAX_MS}`);
  }
  return ms;
}

interface CpuMark {
  cpu: number;
  system: number;
}

type Listener = (tick: FeedTick) => void;

/** One timer per interval, shared by the clients that asked for it. */
class IntervalGroup {
  readonly listeners = new Set<Listener>();
  private readonly marks = new Map<string, CpuMark>();
  private readonly timer: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly source: StatsSource,
    private readonly system: SystemCpuSource,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => void this.tick(true), intervalMs);
    void this.tick(false); // the baseline
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(emit: boolean): Promise<void> {
    if (this.busy) return; // a slow sampling skips ticks rather than piling them up
    this.busy = true;
    try {
      const system = await this.system.read();
      const time = new Date().toISOString();
      const readings = await Promise.all(
        this.source.running().map(async (who) => ({ who, reading: await readContainer(this.source, who.id, system) })),
      );
      const containers: FeedContainer[] = [];
      const seen = new Set<string>();
      for (const { who, reading } of readings) {
        if (!reading) continue;
        seen.add(who.id);
        const s = reading.cgroup;
        const mark: CpuMark = { cpu: s.cpuUsageNs, system: system.systemNs };
        const before = this.marks.get(who.id);
        this.marks.set(who.id, mark);
        const online = system.onlineCpus > 0 ? system.onlineCpus : s.perCpuNs.length;
        const percent = before ? cpuPercentOf(mark.cpu - before.cpu, mark.system - before.system, online) : 0;
        const io = blockIo(s.blkio);
        const net = networkIo(reading.networks);
        containers.push({
          id: who.id,
          name: who.name,
          cpuPercent: Math.round(percent * 100) / 100,
          memoryUsage: memoryNoCache(s, this.source.cgroupVersion),
          memoryLimit: Number.isFinite(s.memoryLimit) ? s.memoryLimit : 0,
          pids: s.pidsCurrent,
          blkioRead: io.read,
          blkioWrite: io.write,
          netRx: net.rx,
          netTx: net.tx,
        });
      }
      for (const id of this.marks.keys()) if (!seen.has(id)) this.marks.delete(id);
      if (!emit) return;
      const tick: FeedTick = { time, containers };
      for (const listener of [...this.listeners]) listener(tick);
    } catch (err) {
      log.warn('stats.feed-tick-failed', { error: messageOf(err) });
    } finally {
      this.busy = false;
    }
  }
}

/** Memory without cache, as the docker CLI computes it, from raw counters. */
function memoryNoCache(s: CgroupStats, version: 1 | 2): number {
  const key = version === 1 ? 'total_inactive_file' : 'inactive_file';
  const inactive = s.memoryStat[key];
  return memoryUsageNoCache({ usage: s.memoryUsage, stats: inactive === undefined ? {} : { [key]: inactive } });
}

export class StatsFeed {
  private readonly groups = new Map<number, IntervalGroup>();

  constructor(
    private readonly source: StatsSource,
    private readonly system: SystemCpuSource,
  ) {}

  /** Calls `listener` every `intervalMs` with every running container until unsubscribed. */
  subscribe(intervalMs: number, listener: Listener): () => void {
    let group = this.groups.get(intervalMs);
    if (!group) this.groups.set(intervalMs, (group = new IntervalGroup(this.source, this.system, intervalMs)));
    group.listeners.add(listener);
    const mine = group;
    return () => {
      mine.listeners.delete(listener);
      if (mine.listeners.size === 0) {
        mine.stop();
        if (this.groups.get(intervalMs) === mine) this.groups.delete(intervalMs);
      }
    };
  }

  /** Intervals with a running timer (for tests). */
  get timers(): number {
    return this.groups.size;
  }
}
