/**
 * `GET /containers/{id}/stats`, as Docker serves it:
 *
 *   stream=1 (default)   one sample at once, then one per second, each a JSON object and a
 *                        newline, flushed; precpu_stats/preread carry the previous sample (zeros
 *                        first). A container that is not running streams zero samples (name and
 *                        id only) until it starts; the stream ends when it is removed or the
 *                        client leaves.
 *   stream=0             one sample whose precpu_stats come from a reading ~1 s earlier (so
 *                        `docker stats --no-stream` shows a real CPU %); with one-shot=1 at once,
 *                        precpu zero. Not running: the zero sample at once.
 *
 * Every streaming client is fed by one `ContainerStatsHub`: a single 1 s timer that reads
 * /proc/stat once per tick and each watched container's cgroup once, however many clients
 * watch it. A client that does not keep up loses samples instead of queueing them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../errors.js';
import { log } from '../log.js';
import { buildSample, emptySample, previousOf, type Previous, type Reading, type SampleIdentity, type StatsJson } from './sample.js';
import { readContainer, type ContainerState, type StatsSource, type SystemCpuSource } from './source.js';

export const STATS_INTERVAL_MS = 1000;

/** Called per tick with the container's reading (undefined: not running) and state (undefined: removed). */
type Listener = (reading: Reading | undefined, state: ContainerState | undefined) => void;

export class ContainerStatsHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    readonly source: StatsSource,
    private readonly system: SystemCpuSource,
    readonly intervalMs = STATS_INTERVAL_MS,
  ) {}

  /** One reading now, outside the ticks (first samples, stream=0). */
  async readNow(id: string): Promise<Reading | undefined> {
    return readContainer(this.source, id, await this.system.read());
  }

  /** Feeds `listener` every tick until the returned function is called. */
  subscribe(id: string, listener: Listener): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    this.timer ??= setInterval(() => void this.tick(), this.intervalMs);
    return () => {
      const current = this.listeners.get(id);
      current?.delete(listener);
      if (current?.size === 0) this.listeners.delete(id);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** How many containers are watched (for tests and logs). */
  get watched(): number {
    return this.listeners.size;
  }

  private async tick(): Promise<void> {
    if (this.ticking) return; // the previous tick is still reading: skip, do not pile up
    this.ticking = true;
    try {
      const system = await this.system.read();
      await Promise.all(
        [...this.listeners.keys()].map(async (id) => {
          const state = this.source.lookup(id);
          const reading = state?.running ? await readContainer(this.source, id, system) : undefined;
          for (const listener of [...(this.listeners.get(id) ?? [])]) listener(reading, state);
        }),
      );
    } catch (err) {
      log.warn('stats.tick-failed', { error: messageOf(err) });
    } finally {
      this.ticking = false;
    }
  }
}

/** Where samples go: one line each. */
export interface LineSink {
  /** Writes one line (with its newline). */
  write(line: string): void;
  /** True while earlier lines are still queued (the client is slow): the next sample is dropped. */
  readonly backedUp: boolean;
  end(): void;
  /** Resolves when the client goes away. */
  readonly closed: Promise<void>;
}

export interface StatsOptions {
  readonly stream: boolean;
  readonly oneShot: boolean;
}

const line = (sample: StatsJson): string => JSON.stringify(sample) + '\n';

/** Serves one stats request for a container already resolved (so a 404 came before any byte). */
export async function serveContainerStats(hub: ContainerStatsHub, target: ContainerState, sink: LineSink, opts: StatsOptions): Promise<void> {
  const version = hub.source.cgroupVersion;
  if (!opts.stream) {
    sink.write(line(await singleSample(hub, target, opts.oneShot, sink.closed)));
    sink.end();
    return;
  }

  let previous: Previous | undefined;
  let lastSent = 0;
  let ended = false;
  let finish: () => void = () => undefined;
  const removed = new Promise<void>((resolve) => (finish = resolve));
  const send = (who: SampleIdentity, reading: Reading | undefined): void => {
    const sample = reading ? buildSample(who, reading, version, previous) : emptySample(who, previous);
    previous = previousOf(sample);
    lastSent = Date.now();
    sink.write(line(sample));
  };

  send(target, target.running ? await hub.readNow(target.id) : undefined);
  const unsubscribe = hub.subscribe(target.id, (reading, state) => {
    if (ended) return;
    if (!state) {
      ended = true;
      finish();
      return;
    }
    // A tick right after the first sample would give a meaningless CPU delta.
    if (Date.now() - lastSent < hub.intervalMs / 2 || sink.backedUp) return;
    send(state, reading);
  });
  await Promise.race([sink.closed, removed]);
  ended = true;
  unsubscribe();
  sink.end();
}

async function singleSample(hub: ContainerStatsHub, target: ContainerState, oneShot: boolean, closed: Promise<void>): Promise<StatsJson> {
  const version = hub.source.cgroupVersion;
  const first = target.running ? await hub.readNow(target.id) : undefined;
  if (!first) return emptySample(target);
  if (oneShot) return buildSample(target, first, version);
  await Promise.race([sleep(hub.intervalMs), closed]);
  const second = await hub.readNow(target.id);
  const state = hub.source.lookup(target.id) ?? target;
  if (!second) return emptySample(state);
  return buildSample(state, second, version, previousOf(buildSample(target, first, version)));
}
