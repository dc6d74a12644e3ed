/**
 * Relaying a query to the upstream resolvers, as bytes: the query goes out verbatim (its ID
 * included) and the first matching answer comes back verbatim. Each exchange uses its own
 * socket — a fresh random source port, connected to that one upstream so the kernel drops
 * datagrams from anyone else — and the answer must carry the query's ID and the QR bit.
 *
 * Upstreams are tried in order, each for at most `timeoutMs`; a refusal (ICMP port
 * unreachable, TCP RST) moves on at once. Any answer, whatever its RCODE, ends the search: an
 * upstream's NXDOMAIN or SERVFAIL is its answer, as with glibc's resolver.
 */
import { createSocket } from 'node:dgram';
import { isIP, connect } from 'node:net';
import { invalid } from '../../errors.js';
import { peekHeader } from './message.js';

export interface Upstream {
  readonly address: string;
  readonly port: number;
}

export type Transport = 'udp' | 'tcp';

/** `1.2.3.4`, `1.2.3.4:5353`, `fd00::1`, `[fd00::1]:5353`; port 53 unless given. */
export function parseUpstream(text: string): Upstream {
  if (isIP(text) !== 0) return { address: text, port: 53 };
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const address = match?.[1];
  const port = Number(match?.[2]);
  if (address === undefined || isIP(address) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(`invalid DNS upstream ${JSON.stringify(text)}: expected an IP address, optionally with :port`);
  }
  return { address, port };
}

/** Asks each upstream in turn; resolves with the first answer, or undefined when none came. */
export async function forwardQuery(
  query: Buffer,
  upstreams: readonly Upstream[],
  transport: Transport,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Buffer | undefined> {
  const id = query.readUInt16BE(0);
  for (const upstream of upstreams) {
    if (signal.aborted) return undefined;
    const exchange = transport === 'udp' ? exchangeUdp : exchangeTcp;
    const answer = await exchange(query, id, upstream, timeoutMs, signal);
    if (answer) return answer;
  }
  return undefined;
}

function isAnswerTo(message: Buffer, id: number): boolean {
  const header = peekHeader(message);
  return header !== undefined && header.isResponse && header.id === id;
}

/** One UDP exchange; undefined on timeout, refusal, abort or any socket error. */
function exchangeUdp(query: Buffer, id: number, upstream: Upstream, timeoutMs: number, signal: AbortSignal): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(upstream.address) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (answer: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      resolve(answer);
    };
    const onAbort = (): void => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    signal.addEventListener('abort', onAbort);
    socket.on('error', () => finish(undefined));
    socket.on('message', (message) => {
      if (isAnswerTo(message, id)) finish(message); // anything else: keep waiting
    });
    socket.connect(upstream.port, upstream.address, () => {
      if (done) return;
      socket.send(query, (err) => {
        if (err) finish(undefined);
      });
    });
  });
}

/** One TCP exchange (RFC 1035 §4.2.2: each message prefixed by its 16-bit length). */
function exchangeTcp(query: Buffer, id: number, upstream: Upstream, timeoutMs: number, signal: AbortSignal): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: upstream.address, port: upstream.port });
    let done = false;
    let received: Buffer = Buffer.alloc(0);
    const finish = (answer: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(answer);
    };
    const onAbort = (): void => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    signal.addEventListener('abort', onAbort);
    socket.on('error', () => finish(undefined));
    socket.on('end', () => finish(undefined));
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      socket.write(Buffer.concat([prefix, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2) {
        const length = received.readUInt16BE(0);
        if (received.length < 2 + length) return; // at most one message (64 KiB) buffered
        const message = received.subarray(2, 2 + length);
        if (isAnswerTo(message, id)) return finish(Buffer.from(message));
        received = received.subarray(2 + length);
      }
    });
  });
}
