import type { IncomingMessage } from 'node:http';
import type Dockerode from 'dockerode';
import type { StatsSample } from '../../shared/bridge.js';
import { dialStream } from './dial-stream.js';
import { onJsonLines } from './json-lines.js';

/** One line of `GET /berth/stats` (docs/berth-api.md): every running container at one tick. */
export interface BerthStatsTick {
  readonly time: string;
  readonly containers: readonly StatsSample[];
}

type TickListener = (tick: BerthStatsTick) => void;

/** How long to wait before reopening a stream the engine ended while someone still listens. */
const REOPEN_MS = 1000;

/**
 * One `/berth/stats?interval=N` NDJSON stream shared by every listener of that interval: the
 * engine samples each container once per tick, whatever the number of windows and charts.
 * It opens with the first listener and closes with the last; if the engine ends it (restart,
 * reconnect) it is reopened while anyone listens.
 */
export class BerthStatsFeed {
  readonly #listeners = new Set<TickListener>();
  #stream: IncomingMessage | undefined;
  #reopen: NodeJS.Timeout | undefined;
  #opening = false;

  constructor(
    private readonly docker: () => Dockerode,
    readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  get listeners(): number {
    return this.#listeners.size;
  }

  /** Whether the engine stream is open (or opening). */
  get streaming(): boolean {
    return this.#stream !== undefined || this.#opening;
  }

  /** Starts `listener` on every tick; answers the function that stops it. */
  listen(listener: TickListener): () => void {
    this.#listeners.add(listener);
    if (this.#stream === undefined && !this.#opening && this.#reopen === undefined) void this.#open();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  #stop(): void {
    if (this.#reopen !== undefined) clearTimeout(this.#reopen);
    this.#reopen = undefined;
    this.#stream?.destroy();
    this.#stream = undefined;
  }

  async #open(): Promise<void> {
    this.#opening = true;
    let stream: IncomingMessage;
    try {
      stream = await dialStream(this.docker(), '/berth/stats', { interval: this.intervalMs });
    } catch (err) {
      this.#opening = false;
      this.onError(err);
      this.#scheduleReopen();
      return;
    }
    this.#opening = false;
    if (this.#listeners.size === 0) {
      stream.destroy();
      return;
    }
    this.#stream = stream;
    onJsonLines(stream, (tick) => {
      for (const listener of [...this.#listeners]) listener(tick as BerthStatsTick);
    });
    const ended = () => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      this.#scheduleReopen();
    };
    stream.once('end', ended);
    stream.once('close', ended);
    stream.once('error', ended);
  }

  #scheduleReopen(): void {
    if (this.#listeners.size === 0 || this.#reopen !== undefined) return;
    this.#reopen = setTimeout(() => {
      this.#reopen = undefined;
      if (this.#listeners.size > 0) void this.#open();
    }, REOPEN_MS);
    this.#reopen.unref();
  }
}
