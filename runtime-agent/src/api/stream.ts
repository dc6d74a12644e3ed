import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';

/** Stream numbers of Docker's multiplexed stream. */
export type StdStream = 0 | 1 | 2;

/**
 * One frame of `application/vnd.docker.multiplexed-stream`: an 8-byte header
 * `[stream, 0, 0, 0, length u32 BE]` then the payload.
 */
export function muxFrame(stream: StdStream, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export const MUX_CONTENT_TYPE = 'application/vnd.docker.multiplexed-stream';
export const RAW_CONTENT_TYPE = 'application/vnd.docker.raw-stream';

/**
 * A JSON-lines progress stream (pull, load, import, build): each message is written and
 * flushed at once. Errors after the head go in-band as `{"errorDetail":..., "error":...}`.
 */
export class JsonMessageStream {
  constructor(private readonly out: ServerResponse | Writable) {}

  static begin(res: ServerResponse): JsonMessageStream {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    return new JsonMessageStream(res);
  }

  write(message: Record<string, unknown>): void {
    this.out.write(JSON.stringify(message) + '\r\n');
  }

  status(status: string, id?: string): void {
    this.write(id === undefined ? { status } : { status, id });
  }

  stream(text: string): void {
    this.write({ stream: text });
  }

  error(message: string): void {
    this.write({ errorDetail: { message }, error: message });
  }

  end(): void {
    this.out.end();
  }
}
