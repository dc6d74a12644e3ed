import type { IncomingMessage } from 'node:http';
import type Dockerode from 'dockerode';
import type { StatsSample } from '../../shared/bridge.js';
import { dialStream } from './dial-stream.js';
import { onJsonLines } from './json-lines.js';

export type SamplesListener = (time: string, samples: readonly StatsSample[]) => void;

/** The parts of Docker's `GET /containers/{id}/stats` answer the charts use. */
export interface DockerStatsJson {
  readonly name?: string;
  readonly cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] | null }; system_cpu_usage?: number; online_cpus?: number };
  readonly precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  readonly memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  readonly pids_stats?: { current?: number };
  readonly networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  readonly blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
}

/** Docker's stats JSON as a sample, with `docker stats`' own CPU and memory arithmetic. */
export function toStatsSample(id: string, s: DockerStatsJson): StatsSample {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const online = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? Math.round((cpuDelta / systemDelta) * online * 10000) / 100 : 0;
  const mem = s.memory_stats ?? {};
  // Page cache is not "used": cgroup v1 reports total_inactive_file, v2 inactive_file.
  const cache = mem.stats?.['total_inactive_file'] ?? mem.stats?.['inactive_file'] ?? 0;
  let netRx = 0;
  let netTx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    netRx += n.rx_bytes ?? 0;
    netTx += n.tx_bytes ?? 0;
  }
  let blkioRead = 0;
  let blkioWrite = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') blkioRead += e.value;
    else if (op === 'write') blkioWrite += e.value;
  }
  return {
    id,
    name: (s.name ?? '').replace(/^\//, ''),
    cpuPercent,
    memoryUsage: Math.max(0, (mem.usage ?? 0) - cache),
    memoryLimit: mem.limit ?? 0,
    pids: s.pids_stats?.current ?? 0,
    netRx,
    netTx,
    blkioRead,
    blkioWrite,
  };
}

/**
 * For engines without /berth/stats (a plain Docker daemon): one `GET /containers/{id}/stats`
 * stream per watched container, shared by every watcher of it, keeping only the latest
 * sample; watchers read `latest` on their own interval. A stream closes with its last user.
 */
export class DockerStatsStreams {
  readonly #streams = new Map<string, { users: number; stream?: IncomingMessage; latest?: StatsSample; closed: boolean }>();

  constructor(private readonly docker: () => Dockerode) {}

  /** Starts (or shares) the stream of `id`; answers the function that releases it. */
  use(id: string): () => void {
    let entry = this.#streams.get(id);
    if (entry === undefined) {
      const created: { users: number; stream?: IncomingMessage; latest?: StatsSample; closed: boolean } = { users: 0, closed: false };
      entry = created;
      this.#streams.set(id, created);
      void this.#open(id, created);
    }
    entry.users++;
    let released = false;
    const held = entry;
    return () => {
      if (released) return;
      released = true;
      if (--held.users > 0) return;
      held.closed = true;
      held.stream?.destroy();
      if (this.#streams.get(id) === held) this.#streams.delete(id);
    };
  }

  latest(id: string): StatsSample | undefined {
    return this.#streams.get(id)?.latest;
  }

  get open(): number {
    return this.#streams.size;
  }

  async #open(id: string, entry: { stream?: IncomingMessage; latest?: StatsSample; closed: boolean }): Promise<void> {
    let stream: IncomingMessage;
    try {
      stream = await dialStream(this.docker(), `/containers/${encodeURIComponent(id)}/stats`, { stream: true });
    } catch {
      return; // gone or not running: no samples, as with /berth/stats
    }
    if (entry.closed) {
      stream.destroy();
      return;
    }
    entry.stream = stream;
    onJsonLines(stream, (value) => {
      try {
        entry.latest = toStatsSample(id, value as DockerStatsJson);
      } catch {
        // a sample missing its parts: the next one will do
      }
    });
    stream.once('error', () => undefined);
  }
}

/**
 * One watcher on a plain Docker engine: every `intervalMs`, the latest sample of each watched
 * container. 'all' follows which containers run (`running()`, one list call per tick).
 */
export function watchDockerStats(
  streams: DockerStatsStreams,
  running: () => Promise<string[]>,
  ids: ReadonlySet<string> | 'all',
  intervalMs: number,
  emit: SamplesListener,
): () => void {
  const held = new Map<string, () => void>();
  const hold = (wanted: Iterable<string>) => {
    const next = new Set(wanted);
    for (const [id, release] of held) {
      if (next.has(id)) continue;
      release();
      held.delete(id);
    }
    for (const id of next) if (!held.has(id)) held.set(id, streams.use(id));
  };
  if (ids !== 'all') hold(ids);
  let stopped = false;
  const tick = async () => {
    if (ids === 'all') {
      const now = await running();
      if (stopped) return;
      hold(now);
    }
    if (stopped) return;
    const samples: StatsSample[] = [];
    for (const id of held.keys()) {
      const s = streams.latest(id);
      if (s !== undefined) samples.push(s);
    }
    emit(new Date().toISOString(), samples);
  };
  const timer = setInterval(() => void tick().catch(() => undefined), intervalMs);
  return () => {
    stopped = true;
    clearInterval(timer);
    hold([]);
  };
}
