import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { log } from '../../../runtime-agent/src/log.js';
import { buildQuery, buildResponse, parseQuery, TYPE_A } from '../../../runtime-agent/src/network/dns/message.js';
import { Resolver } from '../../../runtime-agent/src/network/dns/resolver.js';
import { startDnsServer, type DnsServer } from '../../../runtime-agent/src/network/dns/server.js';

// Per-client upstreams (a container's --dns): fake upstreams on 127.0.0.1, each answering
// every A query with its own address, so the answer tells which one was asked.
log.setQuiet(true);

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function fakeUpstream(answer: string): Promise<{ address: string; asked: () => number }> {
  let asked = 0;
  const reply = (packet: Buffer): Buffer | undefined => {
    const parsed = parseQuery(packet);
    if (!parsed.ok) return undefined;
    asked++;
    return buildResponse(parsed.query, { rcode: 0, addresses: [answer], ttl: 5 });
  };
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', (packet, peer) => {
    const r = reply(packet);
    if (r) socket.send(r, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const tcp = createServer((conn) => {
    conn.on('error', () => undefined);
    conn.once('data', (chunk: Buffer) => {
      const r = reply(chunk.subarray(2, 2 + chunk.readUInt16BE(0)));
      if (r) conn.end(Buffer.concat([Buffer.from([r.length >> 8, r.length & 0xff]), r]));
    });
  });
  await new Promise<void>((resolve) => tcp.listen(socket.address().port, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => tcp.close(() => resolve())));
  return { address: `127.0.0.1:${socket.address().port}`, asked: () => asked };
}

/** The first A address of a reply. */
function firstAddress(reply: Buffer | undefined): string | undefined {
  if (!reply || reply.readUInt16BE(6) === 0) return undefined;
  return [...reply.subarray(reply.length - 4)].join('.');
}

describe('per-client upstreams', () => {
  it('the resolver forwards a client to its own upstreams, others (and on errors) to the default', async () => {
    const [host, own] = [await fakeUpstream('192.0.2.1'), await fakeUpstream('192.0.2.2')];
    const parse = (text: string) => ({ address: '127.0.0.1', port: Number(text.split(':')[1]) });
    const r = new Resolver({
      lookup: () => undefined,
      upstreams: [parse(host.address)],
      upstreamsFor: (client) => {
        if (client === '10.0.0.9') throw new Error('store gone');
        return client === '10.0.0.2' ? [parse(own.address)] : undefined;
      },
      ttl: 600,
      forwardTimeoutMs: 1000,
      maxInFlight: 4,
    });
    closers.push(() => r.close());
    const q = (id: number) => buildQuery(id, 'example.test', TYPE_A);
    expect(firstAddress(await r.answer(q(1), 'udp', '10.0.0.2'))).toBe('192.0.2.2');
    expect(firstAddress(await r.answer(q(2), 'udp', '10.0.0.3'))).toBe('192.0.2.1');
    expect(firstAddress(await r.answer(q(3), 'udp'))).toBe('192.0.2.1');
    expect(firstAddress(await r.answer(q(4), 'udp', '10.0.0.9'))).toBe('192.0.2.1');
    expect([host.asked(), own.asked()]).toEqual([3, 1]);
  });

  it('the server passes the UDP and TCP client address; skips invalid entries and itself', async () => {
    const [host, own] = [await fakeUpstream('192.0.2.1'), await fakeUpstream('192.0.2.2')];
    const seen: string[] = [];
    let wanted: readonly string[] | undefined = [own.address];
    const server: DnsServer = await startDnsServer({
      address: '127.0.0.1',
      port: 0,
      lookup: () => undefined,
      upstream: [host.address],
      upstreamFor: (client) => (seen.push(client), wanted),
    });
    closers.push(() => server.close());
    expect(firstAddress(await udpAsk(server.port, buildQuery(1, 'a.test', TYPE_A)))).toBe('192.0.2.2');
    expect(firstAddress(await tcpAsk(server.port, buildQuery(2, 'a.test', TYPE_A)))).toBe('192.0.2.2');
    expect(seen).toEqual(['127.0.0.1', '127.0.0.1']);
    wanted = ['not-an-ip', `127.0.0.1:${server.port}`]; // nothing usable: the default
    expect(firstAddress(await udpAsk(server.port, buildQuery(3, 'a.test', TYPE_A)))).toBe('192.0.2.1');
    wanted = undefined;
    expect(firstAddress(await udpAsk(server.port, buildQuery(4, 'a.test', TYPE_A)))).toBe('192.0.2.1');
  });
});

function udpAsk(port: number, packet: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => finish(undefined), 3000);
    const finish = (reply: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    socket.once('message', (message) => finish(message));
    socket.send(packet, port, '127.0.0.1');
  });
}

function tcpAsk(port: number, packet: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => finish(undefined), 3000);
    const finish = (reply: Buffer | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    socket.on('error', () => finish(undefined));
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from([packet.length >> 8, packet.length & 0xff]), packet])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) finish(received.subarray(2, 2 + received.readUInt16BE(0)));
    });
  });
}
