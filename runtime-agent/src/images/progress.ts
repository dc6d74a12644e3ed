import type { JsonMessage, ProgressSink } from './progress-types.js';

/**
 * Docker's progress messages as its daemon words them (moby's streamformatter): a plain
 * status (`{"status":"Pulling from library/busybox","id":"latest"}`), a layer's state change
 * (`{"status":"Pulling fs layer","progressDetail":{},"id":"<short digest>"}`) and a progress
 * update with `progressDetail` (what the CLI draws its bar from) and the rendered `progress`
 * text (what old clients print). The bar text is jsonmessage's, at the daemon's width (200
 * columns, so the bar is drawn) and without the time-left estimate the daemon never sends.
 */
export function statusMessage(status: string, id?: string): JsonMessage {
  return id === undefined ? { status } : { status, id };
}

export function layerStatus(id: string, status: string): JsonMessage {
  return { status, progressDetail: {}, id };
}

export function layerProgress(id: string, status: string, current: number, total: number): JsonMessage {
  return { status, progressDetail: { current, total }, progress: progressBar(current, total), id };
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units' HumanSize: decimal units, four significant digits (`2.811MB`, `999B`). */
export function humanSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${parseFloat(size.toPrecision(4))}${UNITS[unit] as string}`;
}

const BAR_WIDTH = 50;

/** `[=====>      ]  1.08MB/2.811MB`; just the count when the total is unknown. */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const filled = Math.min(BAR_WIDTH, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(filled)}>${' '.repeat(BAR_WIDTH - filled)}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/**
 * A byte counter that reports one layer's progress at most every `intervalMs` (as moby's
 * progress reader is rate-limited), and always its first and last value.
 */
export class ProgressReporter {
  private current = 0;
  private lastSentAt = 0;
  /** The count last reported; -1 before the first report. */
  private lastSentValue = -1;

  constructor(
    private readonly sink: ProgressSink,
    private readonly id: string,
    private readonly status: string,
    private readonly total: number,
    private readonly intervalMs = 100,
  ) {}

  add(bytes: number): void {
    this.current += bytes;
    const now = Date.now();
    if (this.lastSentValue < 0 || now - this.lastSentAt >= this.intervalMs) this.send(now);
  }

  /** Sends the final count unless it was the last one sent. */
  finish(): void {
    if (this.lastSentValue !== this.current) this.send(Date.now());
  }

  private send(now: number): void {
    this.lastSentAt = now;
    this.lastSentValue = this.current;
    this.sink.send(layerProgress(this.id, this.status, this.current, this.total));
  }
}
