import { closeSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { invalid } from '../../errors.js';
import type { LogConfig } from '../model.js';

/** One line of Docker's json-file log: `{"log":"...\n","stream":"stdout","time":"..."}`. */
export interface LogEntry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

export interface RotationOptions {
  /** Bytes; undefined = never rotate (Docker's default). */
  readonly maxSize: number | undefined;
  /** Files kept including the live one (Docker's max-file, default 1). */
  readonly maxFiles: number;
}

const SIZE = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i;

/** Validates `--log-driver`/`--log-opt` and returns the rotation they ask for. */
export function rotationOptions(config: LogConfig | undefined): RotationOptions {
  const type = config?.Type ?? '';
  if (type !== '' && type !== 'json-file') {
    throw invalid(`logging driver "${type}" is not supported; berthd supports json-file`);
  }
  const opts = config?.Config ?? {};
  for (const key of Object.keys(opts)) {
    if (key !== 'max-size' && key !== 'max-file') throw invalid(`unknown log opt '${key}' for json-file log driver`);
  }
  let maxSize: number | undefined;
  if (opts['max-size'] !== undefined && opts['max-size'] !== '-1') {
    const m = SIZE.exec(opts['max-size']);
    if (!m) throw invalid(`invalid max-size "${opts['max-size']}": use a size such as 10m`);
    const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
    maxSize = Math.floor(Number(m[1]) * unit);
    if (maxSize <= 0) throw invalid(`invalid max-size "${opts['max-size']}": must be positive`);
  }
  let maxFiles = 1;
  if (opts['max-file'] !== undefined) {
    if (!/^\d+$/.test(opts['max-file']) || Number(opts['max-file']) < 1) {
      throw invalid(`invalid max-file "${opts['max-file']}": must be a positive number`);
    }
    if (maxSize === undefined && Number(opts['max-file']) > 1) throw invalid('max-file cannot be set without max-size');
    maxFiles = Number(opts['max-file']);
  }
  return { maxSize, maxFiles };
}

/** The rotated files of a log, oldest first: `log.2`, `log.1`, `log`. */
export function logFiles(path: string, maxFiles: number): string[] {
  const files: string[] = [];
  for (let i = maxFiles - 1; i >= 1; i--) files.push(`${path}.${i}`);
  files.push(path);
  return files;
}

/**
 * Appends a container's output to its json-file log, one entry per line (a partial line
 * is held until its newline or until the stream ends), rotating by size.
 */
export class JsonFileWriter {
  private fd: number;
  private size: number;
  private readonly partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  constructor(
    private readonly path: string,
    private readonly rotation: RotationOptions,
    private readonly onEntry: (entry: LogEntry) => void,
  ) {
    this.fd = openSync(path, 'a', 0o640);
    this.size = statSync(path).size;
    if (this.size > 0) this.repairTornLine();
  }

  /** A crash mid-write leaves a line without its newline: end it so the next entry stands alone. */
  private repairTornLine(): void {
    const last = Buffer.alloc(1);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, last, 0, 1, this.size - 1);
    } finally {
      closeSync(fd);
    }
    if (last[0] !== 0x0a) {
      writeSync(this.fd, '\n');
      this.size += 1;
    }
  }

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const text = this.partial[stream] + chunk.toString('utf8');
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      this.append({ log: text.slice(start, nl + 1), stream, time: new Date().toISOString() });
      start = nl + 1;
    }
    // Docker splits very long lines at 16 KiB.
    let rest = text.slice(start);
    while (rest.length >= 16 * 1024) {
      this.append({ log: rest.slice(0, 16 * 1024), stream, time: new Date().toISOString() });
      rest = rest.slice(16 * 1024);
    }
    this.partial[stream] = rest;
  }

  /** Flushes partial lines (the stream ended) and closes the file. */
  close(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream] !== '') this.append({ log: this.partial[stream], stream, time: new Date().toISOString() });
      this.partial[stream] = '';
    }
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private append(entry: LogEntry): void {
    const line = JSON.stringify(entry) + '\n';
    const bytes = Buffer.byteLength(line);
    if (this.rotation.maxSize !== undefined && this.size > 0 && this.size + bytes > this.rotation.maxSize) this.rotate();
    writeSync(this.fd, line);
    this.size += bytes;
    this.onEntry(entry);
  }

  private rotate(): void {
    closeSync(this.fd);
    const files = logFiles(this.path, this.rotation.maxFiles); // oldest first
    if (this.rotation.maxFiles <= 1) unlinkSync(this.path);
    else {
      for (let i = 0; i < files.length - 1; i++) {
        const from = files[i + 1] as string;
        const to = files[i] as string;
        try {
          renameSync(from, to);
        } catch {
          /* a rotated file not made yet */
        }
      }
    }
    this.fd = openSync(this.path, 'a', 0o640);
    this.size = 0;
  }
}
