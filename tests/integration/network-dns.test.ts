import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { statSync, readdirSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  buildQuery,
  buildResponse,
  parseQuery,
  RCODE_FORMERR,
  RCODE_SERVFAIL,
  readName,
  TYPE_A,
  TYPE_AAAA,
} from '../../runtime-agent/src/network/dns/message.js';
import { startDnsServer, type DnsServer } from '../../runtime-agent/src/network/dns/server.js';
import { runCommand } from '../support/command.js';
import { REPO_ROOT } from '../support/paths.js';

// berthd's network DNS server on loopback: in process for most cases (a dgram/net client of our
// own), plus one check with busybox nslookup against a server on port 53 inside a test-made
// network namespace. Upstreams are fake servers on 127.0.0.1; no traffic leaves loopback.

const NAMES: Record<string, string[]> = { web: ['10.89.0.2', '10.89.0.3'], db: ['10.89.0.4'] };
const lookup = (name: string): string[] | undefined => NAMES[name];

const servers: DnsServer[] = [];
const closers: (() => void)[] = [];

async function start(upstream: string[], extra: { forwardTimeoutMs?: number; maxInFlight?: number } = {}): Promise<DnsServer> {
  const server = await startDnsServer({ address: '127.0.0.1', port: 0, lookup, upstream, ...extra });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  closers.splice(0).forEach((close) => close());
});

function decode(buf: Buffer) {
  let pos = 12;
  if (buf.readUInt16BE(4) === 1) pos = readName(buf, 12).next + 4;
  const addresses: string[] = [];
  const ttls: number[] = [];
  for (let i = 0; i < buf.readUInt16BE(6); i++) {
    const owner = readName(buf, pos);
    const length = buf.readUInt16BE(owner.next + 8);
    const data = buf.subarray(owner.next + 10, owner.next + 10 + length);
    addresses.push(length === 4 ? [...data].join('.') : data.toString('hex'));
    ttls.push(buf.readUInt32BE(owner.next + 4));
    pos = owner.next + 10 + length;
  }
  const flags = buf.readUInt16BE(2);
  return { id: buf.readUInt16BE(0), aa: (flags & 0x400) !== 0, rcode: flags & 0xf, addresses: addresses.sort(), ttls };
}

function udpSocket(): Promise<UdpSocket> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1', () => resolve(socket));
    closers.push(() => socket.close());
  });
}

/** Sends one datagram and waits for one reply (undefined after `timeoutMs`). */
async function udpQuery(port: number, packet: Buffer, timeoutMs = 5000): Promise<Buffer | undefined> {
  const socket = await udpSocket();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    socket.once('message', (message) => {
      clearTimeout(timer);
      resolve(message);
    });
    socket.send(packet, port, '127.0.0.1');
  });
}

/** Sends the packets in one write over one TCP connection; resolves with `count` replies. */
function tcpQuery(port: number, packets: Buffer[], count = packets.length): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const replies: Buffer[] = [];
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(Buffer.concat(packets.flatMap((p) => [Buffer.from([p.length >> 8, p.length & 0xff]), p])));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        replies.push(received.subarray(2, 2 + received.readUInt16BE(0)));
        received = received.subarray(2 + received.readUInt16BE(0));
      }
      if (replies.length >= count) {
        socket.destroy();
        resolve(replies);
      }
    });
  });
}

/** A fake upstream resolver on UDP and TCP: answers every A query with 192.0.2.7, TTL 1234. */
async function fakeUpstream(mode: 'answer' | 'silent' = 'answer') {
  const received: Buffer[] = [];
  const sent: Buffer[] = [];
  const reply = (packet: Buffer): Buffer | undefined => {
    received.push(packet);
    const parsed = parseQuery(packet);
    if (mode === 'silent' || !parsed.ok) return undefined;
    const answer = buildResponse(parsed.query, { rcode: 0, addresses: ['192.0.2.7'], ttl: 1234 });
    sent.push(answer);
    return answer;
  };
  const udp = await udpSocket();
  udp.on('message', (packet, peer) => {
    const answer = reply(packet);
    if (answer) udp.send(answer, peer.port, peer.address);
  });
  const port = udp.address().port;
  const tcp: Server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (chunk: Buffer) => {
      const answer = reply(chunk.subarray(2, 2 + chunk.readUInt16BE(0)));
      if (answer) socket.end(Buffer.concat([Buffer.from([answer.length >> 8, answer.length & 0xff]), answer]));
    });
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  closers.push(() => tcp.close());
  return { address: `127.0.0.1:${port}`, received, sent };
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const socket = await udpSocket();
  const { port } = socket.address();
  socket.close();
  closers.pop();
  return port;
}

describe('the network DNS server (in process, loopback)', () => {
  it('answers A for known names with every address, TTL 600, the query ID', async () => {
    const server = await start([]);
    expect(server.address).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    const reply = await udpQuery(server.port, buildQuery(0x4242, 'WEB.', TYPE_A));
    expect(decode(reply as Buffer)).toEqual({ id: 0x4242, aa: true, rcode: 0, addresses: ['10.89.0.2', '10.89.0.3'], ttls: [600, 600] });
  });

  it('answers AAAA for a known name with an empty NOERROR', async () => {
    const server = await start([]);
    const reply = await udpQuery(server.port, buildQuery(7, 'db', TYPE_AAAA));
    expect(decode(reply as Buffer)).toMatchObject({ id: 7, rcode: 0, addresses: [] });
  });

  it('forwards other names to the upstream verbatim and relays its answer verbatim', async () => {
    const upstream = await fakeUpstream();
    const server = await start([upstream.address]);
    const query = buildQuery(0x9999, 'example.org', TYPE_A, { edns: true });
    const reply = await udpQuery(server.port, query);
    expect(upstream.received).toEqual([query]);
    expect(reply).toEqual(upstream.sent[0]);
    expect(decode(reply as Buffer)).toMatchObject({ id: 0x9999, rcode: 0, addresses: ['192.0.2.7'], ttls: [1234] });
  });

  it('tries the upstreams in turn: a refused one at once, a silent one after its timeout', async () => {
    const [silent, answering] = [await fakeUpstream('silent'), await fakeUpstream()];
    const server = await start([`127.0.0.1:${await closedPort()}`, silent.address, answering.address], { forwardTimeoutMs: 300 });
    const began = Date.now();
    const reply = await udpQuery(server.port, buildQuery(11, 'example.org', TYPE_A));
    expect(decode(reply as Buffer)).toMatchObject({ id: 11, addresses: ['192.0.2.7'] });
    expect(Date.now() - began).toBeGreaterThanOrEqual(280);
    expect(silent.received).toHaveLength(1);
  });

  it('answers SERVFAIL within ~2 s when the upstream is down, at once when there is none', async () => {
    const silent = await fakeUpstream('silent');
    const server = await start([silent.address]);
    let began = Date.now();
    const reply = await udpQuery(server.port, buildQuery(12, 'example.org', TYPE_A));
    const took = Date.now() - began;
    expect(decode(reply as Buffer)).toMatchObject({ id: 12, rcode: RCODE_SERVFAIL });
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(3000);

    const refused = await start([`127.0.0.1:${await closedPort()}`]);
    const none = await start([]);
    for (const s of [refused, none]) {
      began = Date.now();
      expect(decode((await udpQuery(s.port, buildQuery(13, 'example.org', TYPE_A))) as Buffer)).toMatchObject({ id: 13, rcode: RCODE_SERVFAIL });
      expect(Date.now() - began).toBeLessThan(500);
    }
  });

  it('caps the forwards in flight: beyond the cap, SERVFAIL at once', async () => {
    const silent = await fakeUpstream('silent');
    const server = await start([silent.address], { maxInFlight: 1, forwardTimeoutMs: 1500 });
    const first = udpQuery(server.port, buildQuery(21, 'one.example', TYPE_A));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const began = Date.now();
    expect(decode((await udpQuery(server.port, buildQuery(22, 'two.example', TYPE_A))) as Buffer)).toMatchObject({ id: 22, rcode: RCODE_SERVFAIL });
    expect(Date.now() - began).toBeLessThan(500);
    expect(silent.received).toHaveLength(1);
    expect(decode((await first) as Buffer)).toMatchObject({ id: 21, rcode: RCODE_SERVFAIL });
  });

  it('survives malformed packets: FORMERR for a readable header, silence for garbage', async () => {
    const server = await start([]);
    expect(await udpQuery(server.port, Buffer.from('garbage'), 300)).toBeUndefined();
    expect(await udpQuery(server.port, randomBytes(600).fill(0x80, 2, 3), 300)).toBeUndefined(); // QR set
    const twoQuestions = Buffer.from('abcd01000002000000000000', 'hex');
    expect(decode((await udpQuery(server.port, twoQuestions)) as Buffer)).toMatchObject({ id: 0xabcd, rcode: RCODE_FORMERR });
    const [tcpReply] = await tcpQuery(server.port, [Buffer.from('abcd0100000100000000000003', 'hex')]);
    expect((tcpReply?.readUInt16BE(2) ?? 0) & 0xf).toBe(RCODE_FORMERR);
    const reply = await udpQuery(server.port, buildQuery(5, 'web', TYPE_A));
    expect(decode(reply as Buffer).addresses).toEqual(['10.89.0.2', '10.89.0.3']);
  });

  it('answers over TCP: pipelined queries on one connection, forwards over TCP', async () => {
    const upstream = await fakeUpstream();
    const server = await start([upstream.address]);
    const replies = await tcpQuery(server.port, [buildQuery(31, 'web', TYPE_A), buildQuery(32, 'db', TYPE_A), buildQuery(33, 'example.net', TYPE_A)]);
    const byId = new Map(replies.map((r) => [r.readUInt16BE(0), decode(r)]));
    expect(byId.get(31)?.addresses).toEqual(['10.89.0.2', '10.89.0.3']);
    expect(byId.get(32)?.addresses).toEqual(['10.89.0.4']);
    expect(byId.get(33)).toMatchObject({ addresses: ['192.0.2.7'], ttls: [1234] });
    expect(upstream.received).toHaveLength(1);
  });

  it('refuses an invalid listen address or upstream, and a port in use', async () => {
    await expect(startDnsServer({ address: 'gateway', lookup, upstream: [] })).rejects.toThrow(/invalid DNS listen address/);
    await expect(startDnsServer({ address: '127.0.0.1', port: 0, lookup, upstream: ['dns.example'] })).rejects.toThrow(/invalid DNS upstream/);
    const server = await start([]);
    await expect(startDnsServer({ address: '127.0.0.1', port: server.port, lookup, upstream: [] })).rejects.toThrow(/cannot listen/);
  });
});

describe('the network DNS server with busybox nslookup, port 53 in a test namespace', () => {
  const netns = `berth-dns-${randomBytes(4).toString('hex')}`;
  const nsenter = ['--net=/run/netns/' + netns];
  const GATEWAY = '10.89.53.1';
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    await ensureCompiled();
    for (const args of [
      ['ip', 'netns', 'add', netns],
      ['nsenter', ...nsenter, 'ip', 'link', 'set', 'lo', 'up'],
      ['nsenter', ...nsenter, 'ip', 'addr', 'add', `${GATEWAY}/32`, 'dev', 'lo'],
    ]) {
      const result = await runCommand(args[0] as string, args.slice(1));
      if (result.code !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`);
    }
    const module = pathToFileURL(join(REPO_ROOT, 'runtime-agent/dist/network/dns/server.js')).href;
    const script = `
      import { startDnsServer } from ${JSON.stringify(module)};
      const names = { web: ['10.89.53.10'], 'web.mynet': ['10.89.53.10'] };
      const server = await startDnsServer({ address: ${JSON.stringify(GATEWAY)}, lookup: (n) => names[n], upstream: [] });
      process.stdout.write('ready ' + server.port + '\\n');
      process.stdin.on('end', () => server.close());
      process.stdin.resume();`;
    child = spawn('nsenter', [...nsenter, process.execPath, '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const started = child;
    await new Promise<void>((resolve, reject) => {
      started.stdout?.on('data', (chunk: Buffer) => (chunk.toString().startsWith('ready 53') ? resolve() : undefined));
      started.on('exit', (code) => reject(new Error(`DNS server in ${netns} exited with ${code}`)));
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.stdin?.end();
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await runCommand('ip', ['netns', 'del', netns]);
  });

  it('resolves a container name on the gateway address', async () => {
    for (const name of ['web', 'WEB.mynet']) {
      const result = await runCommand('nsenter', [...nsenter, 'busybox', 'nslookup', name, GATEWAY], { timeoutMs: 15_000 });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain('Address: 10.89.53.10');
    }
    const unknown = await runCommand('nsenter', [...nsenter, 'busybox', 'nslookup', 'nowhere', GATEWAY], { timeoutMs: 15_000 });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout).toContain('SERVFAIL');
  });
});

/** The child imports the compiled module: compile when dist is missing or older than src. */
async function ensureCompiled(): Promise<void> {
  const src = join(REPO_ROOT, 'runtime-agent/src/network/dns');
  const dist = join(REPO_ROOT, 'runtime-agent/dist/network/dns');
  const mtime = (path: string): number => {
    try {
      return statSync(path).mtimeMs;
    } catch {
      return 0;
    }
  };
  const stale = readdirSync(src).some((file) => mtime(join(src, file)) > mtime(join(dist, file.replace(/\.ts$/, '.js'))));
  if (!stale) return;
  const result = await runCommand('npx', ['tsc', '-b', join(REPO_ROOT, 'runtime-agent')], { cwd: REPO_ROOT, timeoutMs: 120_000 });
  if (mtime(join(dist, 'server.js')) === 0) throw new Error(`tsc -b runtime-agent failed:\n${result.stdout}${result.stderr}`);
}
