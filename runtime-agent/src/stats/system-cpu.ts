/**
 * The host's CPU time, as Docker computes `system_cpu_usage` and `online_cpus`: the `cpu`
 * line of /proc/stat, its first seven fields (user nice system idle iowait irq softirq) summed
 * and turned from USER_HZ ticks into nanoseconds; one online CPU per `cpuN` line.
 *
 * Samplers read it once per tick for every container they sample (`SystemCpuReader` shares a
 * reading taken within the last few milliseconds), so the container and system deltas come
 * from the same moment.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** USER_HZ: the unit of /proc/stat; 100 on every Linux ABI (Docker hard-codes it too). */
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;
/** Readings this close together are one reading. */
const SHARE_MS = 20;

export interface SystemCpu {
  /** Total CPU time of the host since boot, nanoseconds. */
  readonly systemNs: number;
  readonly onlineCpus: number;
}

/** Parses /proc/stat; throws when the `cpu` line is missing or malformed. */
export function parseProcStat(text: string): SystemCpu {
  let systemNs: number | undefined;
  let onlineCpus = 0;
  for (const line of text.split('\n')) {
    // The cpu lines come first (glibc assumes the same); stop at the first other line.
    if (!line.startsWith('cpu')) break;
    if (line[3] === ' ') {
      const fields = line.trim().split(/\s+/).slice(1, 8);
      if (fields.length < 7 || fields.some((f) => !/^\d+$/.test(f))) throw new Error(`malformed /proc/stat cpu line: ${line}`);
      systemNs = fields.reduce((sum, f) => sum + Number(f), 0) * NS_PER_TICK;
    } else if (/^cpu\d/.test(line)) {
      onlineCpus += 1;
    }
  }
  if (systemNs === undefined) throw new Error('no cpu line in /proc/stat');
  return { systemNs, onlineCpus };
}

/**
 * Reads /proc/stat through one file handle kept open (re-read from offset 0), sharing a
 * reading among callers within a few milliseconds of each other.
 */
export class SystemCpuReader {
  private handle: Promise<FileHandle> | undefined;
  private last: { at: number; value: Promise<SystemCpu> } | undefined;
  private readonly buffer = Buffer.alloc(64 * 1024);

  constructor(private readonly path = '/proc/stat') {}

  read(): Promise<SystemCpu> {
    const now = Date.now();
    if (this.last && now - this.last.at < SHARE_MS) return this.last.value;
    const value = this.readNow();
    this.last = { at: now, value };
    value.catch(() => {
      if (this.last?.value === value) this.last = undefined;
    });
    return value;
  }

  private async readNow(): Promise<SystemCpu> {
    this.handle ??= open(this.path, 'r');
    let handle: FileHandle;
    try {
      handle = await this.handle;
    } catch (err) {
      this.handle = undefined;
      throw err;
    }
    const { bytesRead } = await handle.read(this.buffer, 0, this.buffer.length, 0);
    return parseProcStat(this.buffer.toString('latin1', 0, bytesRead));
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close();
  }
}
