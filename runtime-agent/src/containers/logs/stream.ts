import type { ServerResponse } from 'node:http';
import { muxFrame, MUX_CONTENT_TYPE, RAW_CONTENT_TYPE } from '../../api/stream.js';
import type { LogEntry } from './json-file.js';
import { entryMatches, readLogEntries, type LogQuery } from './read.js';
import type { OutputHub } from '../output.js';

export interface LogStreamOptions extends LogQuery {
  readonly follow: boolean;
  readonly timestamps: boolean;
  readonly tty: boolean;
}

/** Docker prints RFC 3339 with nanoseconds; berthd records milliseconds. */
function nanoTime(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, '.$1000000Z').replace(/:(\d\d)Z$/, ':$1.000000000Z');
}

/**
 * `GET /containers/{id}/logs`: the stored entries, then (with follow) live ones until the
 * container stops or the client goes. Live entries are subscribed before the file is read
 * and de-duplicated, so nothing is missed or doubled at the seam.
 */
export async function streamLogs(res: ServerResponse, files: readonly string[], hub: OutputHub | undefined, opts: LogStreamOptions): Promise<void> {
  res.writeHead(200, { 'Content-Type': opts.tty ? RAW_CONTENT_TYPE : MUX_CONTENT_TYPE });
  res.flushHeaders();
  const send = (e: LogEntry): void => {
    const text = (opts.timestamps ? `${nanoTime(e.time)} ` : '') + e.log;
    res.write(opts.tty ? Buffer.from(text) : muxFrame(e.stream === 'stdout' ? 1 : 2, Buffer.from(text)));
  };
  const following = opts.follow && hub !== undefined && !hub.ended;
  const buffered: LogEntry[] = [];
  const onBuffered = (e: LogEntry): void => {
    buffered.push(e);
  };
  if (following) hub.on('entry', onBuffered);

  const stored = await readLogEntries(files, opts);
  for (const e of stored) send(e);
  if (!following) {
    res.end();
    return;
  }
  hub.off('entry', onBuffered);
  const seen = new Set(stored.slice(-buffered.length - 1).map((e) => JSON.stringify(e)));
  for (const e of buffered) if (!seen.has(JSON.stringify(e)) && entryMatches(e, opts)) send(e);

  const onEntry = (e: LogEntry): void => {
    if (entryMatches(e, opts)) send(e);
  };
  hub.on('entry', onEntry);
  await new Promise<void>((resolve) => {
    if (hub.ended) resolve();
    hub.once('end', () => resolve());
    res.once('close', () => resolve());
  });
  hub.off('entry', onEntry);
  res.end();
}
