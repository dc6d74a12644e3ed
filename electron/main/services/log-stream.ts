import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';
import type { LogLine } from '../../shared/bridge.js';

/**
 * Reading Docker's log streams. A container without a TTY sends multiplexed frames, each an
 * 8-byte header (stream: 1 stdout, 2 stderr; 3 zero bytes; big-endian payload length) and
 * the payload; a container with a TTY sends its bytes raw (all stdout). Frames and UTF-8
 * characters may be split anywhere across chunks, so both are buffered until whole.
 */
export type StreamName = LogLine['stream'];

export class FrameDemuxer {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly tty: boolean) {}

  /** The payloads whole in what has arrived so far, in order. */
  push(chunk: Buffer): { stream: StreamName; data: Buffer }[] {
    if (this.tty) return chunk.length === 0 ? [] : [{ stream: 'stdout', data: chunk }];
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: { stream: StreamName; data: Buffer }[] = [];
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      out.push({ stream: buf[0] === 2 ? 'stderr' : 'stdout', data: buf.subarray(8, 8 + size) });
      buf = buf.subarray(8 + size);
    }
    this.#pending = Buffer.from(buf);
    return out;
  }
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (.*)$/s;

/** A line as the engine stamps it (`timestamps=1`): "<RFC 3339 nano> <text>". */
export function parseStampedLine(stream: StreamName, line: string): LogLine {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const m = STAMP.exec(text);
  return m === null ? { stream, time: '', text } : { stream, time: m[1] ?? '', text: m[2] ?? '' };
}

/** A sortable key of an RFC 3339 UTC time with up to nanoseconds ("…05.1Z" < "…05.12Z"). */
export function timeKey(time: string): string {
  const m = /^([^.Z]+)(?:\.(\d+))?Z$/.exec(time);
  if (m === null) return time;
  return `${m[1] ?? ''}.${(m[2] ?? '').padEnd(9, '0')}`;
}

/** Turns stream payloads into whole lines, per stream (a line may come in several frames). */
export class LineSplitter {
  readonly #decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  readonly #partial = { stdout: '', stderr: '' };

  push(stream: StreamName, data: Buffer): LogLine[] {
    const text = this.#partial[stream] + this.#decoders[stream].write(data);
    const parts = text.split('\n');
    this.#partial[stream] = parts.pop() ?? '';
    return parts.map((line) => parseStampedLine(stream, line));
  }

  /** What is left when the stream ends (a last line without a newline). */
  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.#partial[stream] + this.#decoders[stream].end();
      this.#partial[stream] = '';
      if (rest !== '') out.push(parseStampedLine(stream, rest));
    }
    return out;
  }
}

/** Reads a whole (non-follow) log stream into lines. */
export async function readLogLines(stream: NodeJS.ReadableStream, tty: boolean): Promise<LogLine[]> {
  const demux = new FrameDemuxer(tty);
  const lines = new LineSplitter();
  const out: LogLine[] = [];
  for await (const chunk of stream) {
    for (const part of demux.push(Buffer.from(chunk as Buffer))) out.push(...lines.push(part.stream, part.data));
  }
  out.push(...lines.flush());
  return out;
}

/** The log as plain text for a download: frame headers removed, bytes otherwise untouched. */
export class PlainLogText extends Transform {
  readonly #demux: FrameDemuxer;

  constructor(tty: boolean) {
    super();
    this.#demux = new FrameDemuxer(tty);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (const part of this.#demux.push(chunk)) this.push(part.data);
    done();
  }
}
