import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { errnoCode, invalid } from '../../errors.js';
import type { LogEntry } from './json-file.js';

export interface LogQuery {
  readonly stdout: boolean;
  readonly stderr: boolean;
  /** Seconds since the epoch (fractional); entries before are skipped. */
  readonly since: number | undefined;
  readonly until: number | undefined;
  /** Last N entries; undefined = all. */
  readonly tail: number | undefined;
}

/** Docker's `since`/`until` values: Unix seconds with optional fraction (the CLI converts). */
export function parseLogTime(value: string | null, name: string): number | undefined {
  if (value === null || value === '' || value === '0') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalid(`invalid value for "${name}": "${value}"`);
  return ms / 1000;
}

export function parseTail(value: string | null): number | undefined {
  if (value === null || value === '' || value === 'all') return undefined;
  if (!/^\d+$/.test(value)) throw invalid(`invalid value for "tail": "${value}": use a number or "all"`);
  return Number(value);
}

export function entryMatches(entry: LogEntry, q: LogQuery): boolean {
  if (entry.stream === 'stdout' ? !q.stdout : !q.stderr) return false;
  const t = Date.parse(entry.time) / 1000;
  if (q.since !== undefined && t < q.since) return false;
  if (q.until !== undefined && t > q.until) return false;
  return true;
}

/** Reads matching entries from the log files (oldest first), keeping only the tail. */
export async function readLogEntries(files: readonly string[], q: LogQuery): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for (const file of files) {
    let lines;
    try {
      lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
      for await (const line of lines) {
        if (line === '') continue;
        let entry: LogEntry;
        try {
          entry = JSON.parse(line) as LogEntry;
        } catch {
          continue; // a torn last line after a crash
        }
        if (!entryMatches(entry, q)) continue;
        out.push(entry);
        if (q.tail !== undefined && out.length > q.tail * 2 + 1024) out.splice(0, out.length - q.tail);
      }
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  return q.tail === undefined ? out : q.tail === 0 ? [] : out.slice(-q.tail);
}
