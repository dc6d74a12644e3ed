import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { log } from '../../runtime-agent/src/log.js';
import { PortPublisher, startPortProxy, type PortProxy } from '../../runtime-agent/src/network/ports/index.js';
import type { PortBindingSpec } from '../../runtime-agent/src/network/ports/bindings.js';

/**
 * The userland proxy and PortPublisher on loopback only, no containers: the "container" is
 * a server on 127.0.0.2, the host side listens on 127.0.0.1. Every listener a test opens is
 * closed after it, and the tests that check "no listener left" prove it by binding again.
 */
log.setQuiet(true);

const TARGET_IP = '127.0.0.2';
const HOST_IP = '127.0.0.1';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const portOf = (s: Server): number => {
  const a = s.address();
  return typeof a === 'object' && a !== null ? a.port : 0;
};

function listen(server: Server, host: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      cleanups.push(() => new Promise((r) => server.close(r)));
      resolve(portOf(server));
    });
  });
}

/** An echo server that also answers a half-close: after the client's FIN it still replies. */
async function echoServer(): Promise<{ port: number; sawEnd: () => boolean }> {
  let ended = false;
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s, { end: false });
    s.on('end', () => {
      ended = true;
      s.end('bye after your FIN');
    });
  });
  return { port: await listen(server, TARGET_IP), sawEnd: () => ended };
}

async function proxyTo(targetPort: number, extra: { maxConnections?: number; udpIdleTimeoutMs?: number; proto?: 'tcp' | 'udp' } = {}): Promise<PortProxy> {
  const proxy = await startPortProxy({ proto: extra.proto ?? 'tcp', hostIp: HOST_IP, hostPort: 0, targetIp: TARGET_IP, targetPort, ...extra });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** Connects, writes `data`, half-closes, and collects everything until the server's FIN. */
function exchange(port: number, data: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ host: HOST_IP, port, allowHalfOpen: true });
    s.on('error', reject);
    s.on('data', (b: Buffer) => chunks.push(b));
    s.on('end', () => {
      s.end();
      resolve(Buffer.concat(chunks));
    });
    s.end(data);
  });
}

/** Whether something is listening on 127.0.0.1:port (tcp). */
async function freeToBind(port: number, host = HOST_IP): Promise<boolean> {
  const s = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise((r) => s.close(r));
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, HOST_IP, () => r()));
  const port = portOf(s);
  await new Promise((r) => s.close(r));
  return port;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const tcpSpec = (containerPort: number, hostPort: number): PortBindingSpec => ({ proto: 'tcp', containerPort, hostIp: HOST_IP, hostPort, hostPortEnd: hostPort });

describe('userland proxy: TCP', () => {
  it('relays both ways and passes a half-close on (the reply after FIN still arrives)', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    expect(proxy.port).toBeGreaterThan(0);
    const reply = await exchange(proxy.port, 'hello through the proxy\n');
    expect(reply.toString()).toBe('hello through the proxy\nbye after your FIN');
    expect(echo.sawEnd()).toBe(true);
  });

  it('moves 50 MB byte for byte (throughput logged against direct)', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const payload = randomBytes(50 * 1024 * 1024);
    const tail = Buffer.from('bye after your FIN');
    const expected = sha(Buffer.concat([payload, tail]));
    const timed = async (host: string, port: number): Promise<number> => {
      const started = process.hrtime.bigint();
      const got = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const s = connect({ host, port, allowHalfOpen: true });
        s.on('error', reject);
        s.on('data', (b: Buffer) => chunks.push(b));
        s.on('end', () => {
          s.end();
          resolve(Buffer.concat(chunks));
        });
        s.end(payload);
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      expect(got.length).toBe(payload.length + tail.length);
      expect(sha(got)).toBe(expected);
      return (2 * 50) / seconds; // MB/s, both directions counted
    };
    // Best of two each (the first run pays for warm-up). Client, proxy and echo server share
    // this one process and event loop, so the figures compare, they do not measure a link.
    let direct = 0;
    let proxied = 0;
    for (let round = 0; round < 2; round++) {
      direct = Math.max(direct, await timed(TARGET_IP, echo.port));
      proxied = Math.max(proxied, await timed(HOST_IP, proxy.port));
    }
    console.log(`[ports] 50 MB echoed (100 MB moved): direct ${direct.toFixed(0)} MB/s, through the proxy ${proxied.toFixed(0)} MB/s (${((100 * proxied) / direct).toFixed(0)}% of direct)`);
    expect(proxy.active).toBeLessThanOrEqual(1);
  });

  it('closes a client whose target refuses, and caps connections', async () => {
    const closedPort = await freePort();
    const dead = await proxyTo(closedPort);
    const refused = connect(dead.port, HOST_IP);
    refused.on('error', () => undefined); // reset or FIN: either way the proxy lets it go
    refused.end('x');
    await new Promise((r) => refused.once('close', r));
    await expect.poll(() => dead.active).toBe(0);

    const echo = await echoServer();
    const proxy = await proxyTo(echo.port, { maxConnections: 2 });
    const open: Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = connect(proxy.port, HOST_IP);
      s.on('error', () => undefined);
      open.push(s);
      await new Promise((r) => s.once('connect', r));
      await new Promise((r) => {
        s.once('data', r);
        s.write('up');
      });
    }
    expect(proxy.active).toBe(2);
    const third = connect(proxy.port, HOST_IP);
    third.on('error', () => undefined);
    await new Promise((r) => third.once('close', r));
    for (const s of open) s.destroy();
    await expect.poll(() => proxy.active).toBe(0);
  });
});

describe('userland proxy: UDP', () => {
  it('round trip through a per-client flow that idles out', async () => {
    const server = createSocket('udp4');
    server.on('message', (msg, from) => server.send(Buffer.concat([Buffer.from('echo:'), msg]), from.port, from.address));
    await new Promise<void>((r) => server.bind(0, TARGET_IP, () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const proxy = await proxyTo(server.address().port, { proto: 'udp', udpIdleTimeoutMs: 300 });

    const client: UdpSocket = createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => client.close(() => r())));
    const reply = new Promise<{ msg: string; port: number }>((resolve) => client.once('message', (m, from) => resolve({ msg: m.toString(), port: from.port })));
    client.send('ping', proxy.port, HOST_IP);
    expect(await reply).toEqual({ msg: 'echo:ping', port: proxy.port });
    expect(proxy.active).toBe(1);
    await expect.poll(() => proxy.active, { timeout: 3000 }).toBe(0);
  });
});

describe('PortPublisher', () => {
  it('publishes, refuses a taken port with Docker\'s message, and leaves nothing half-made', async () => {
    const echo = await echoServer();
    const publisher = new PortPublisher();
    cleanups.push(() => publisher.closeAll());
    const [random] = await publisher.publish('a'.repeat(64), [tcpSpec(echo.port, 0)], TARGET_IP);
    expect(random?.hostPort).toBeGreaterThanOrEqual(publisher.allocator.ephemeralRange[0]);
    expect((await exchange(random?.hostPort ?? 0, 'via random port\n')).toString()).toBe('via random port\nbye after your FIN');

    // taken by another process
    const busy = await listen(createServer(), HOST_IP);
    const firstFree = await freePort();
    await expect(publisher.publish('b'.repeat(64), [tcpSpec(80, firstFree), tcpSpec(81, busy)], TARGET_IP, { name: 'web', id: 'e'.repeat(64) }))
      .rejects.toMatchObject({ code: 'conflict', message: `driver failed programming external connectivity on endpoint web (${'e'.repeat(64)}): Bind for ${HOST_IP}:${busy} failed: port is already allocated` });
    // no half-made state: the first binding's listener is gone and its port is free
    expect(publisher.published('b'.repeat(64))).toEqual([]);
    expect(publisher.allocator.isHeld('tcp', HOST_IP, firstFree)).toBe(false);
    expect(await freeToBind(firstFree)).toBe(true);

    // taken by berthd itself (another container)
    await expect(publisher.publish('c'.repeat(64), [tcpSpec(80, random?.hostPort ?? 0)], TARGET_IP))
      .rejects.toThrow(`Bind for ${HOST_IP}:${random?.hostPort} failed: port is already allocated`);
  });

  it('unpublish and closeAll free every port (rebinding succeeds)', async () => {
    const echo = await echoServer();
    const publisher = new PortPublisher();
    const [p1, p2] = [await freePort(), await freePort()];
    await publisher.publish('one', [tcpSpec(echo.port, p1), { proto: 'udp', containerPort: 53, hostIp: HOST_IP, hostPort: p1, hostPortEnd: p1 }], TARGET_IP);
    await publisher.publish('two', [tcpSpec(echo.port, p2)], TARGET_IP);
    expect(publisher.published('one').map((p) => `${p.hostPort}/${p.proto}`)).toEqual([`${p1}/tcp`, `${p1}/udp`]);
    expect(await freeToBind(p1)).toBe(false);

    await publisher.unpublish('two');
    expect(await freeToBind(p2)).toBe(true);
    await publisher.publish('two', [tcpSpec(echo.port, p2)], TARGET_IP);

    await publisher.closeAll();
    expect(await freeToBind(p1)).toBe(true);
    expect(await freeToBind(p2)).toBe(true);
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(p1, HOST_IP, () => resolve());
    });
    await new Promise<void>((r) => udp.close(() => r()));
    await expect(publisher.publish('three', [tcpSpec(echo.port, 0)], TARGET_IP)).rejects.toMatchObject({ code: 'unavailable' });
  });
});
