import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalid } from '../errors.js';

const MAX_BODY = 1 << 20;

/**
 * Reads the body of an Upgrade request from the raw socket: Node hands over the socket
 * with whatever bytes followed the head (`head`) and parses no body. Supports
 * Content-Length and chunked encoding; returns the body and the bytes that came after it.
 */
export async function readUpgradeBody(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<{ body: Buffer; rest: Buffer }> {
  const chunked = /chunked/i.test(String(req.headers['transfer-encoding'] ?? ''));
  const length = Number(req.headers['content-length'] ?? 0);
  if (!chunked && (!Number.isFinite(length) || length <= 0)) return { body: Buffer.alloc(0), rest: head };
  if (length > MAX_BODY) throw invalid('request body too large');

  let buffered = head;
  const more = (): Promise<void> =>
    new Promise((ok, fail) => {
      const onData = (chunk: Buffer): void => {
        cleanup();
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length > MAX_BODY + 64) fail(invalid('request body too large'));
        else ok();
      };
      const onEnd = (): void => {
        cleanup();
        fail(invalid('connection closed before the request body was complete'));
      };
      const cleanup = (): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        socket.pause();
      };
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('close', onEnd);
      socket.resume();
    });

  if (!chunked) {
    while (buffered.length < length) await more();
    return { body: buffered.subarray(0, length), rest: buffered.subarray(length) };
  }
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    let eol = buffered.indexOf('\r\n', offset);
    while (eol < 0) {
      await more();
      eol = buffered.indexOf('\r\n', offset);
    }
    const size = parseInt(buffered.subarray(offset, eol).toString('ascii').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size) || size < 0) throw invalid('malformed chunked request body');
    const start = eol + 2;
    while (buffered.length < start + size + 2) await more();
    if (size === 0) return { body: Buffer.concat(parts), rest: buffered.subarray(start + 2) };
    parts.push(buffered.subarray(start, start + size));
    offset = start + size + 2;
  }
}
