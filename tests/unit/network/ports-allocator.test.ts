import { createServer, type Server } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PortAllocator, ephemeralPortRange, probeBind, DOCKER_EPHEMERAL_RANGE } from '../../../runtime-agent/src/network/ports/allocator.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Holds a TCP port on 127.0.0.1 (the kernel picks it) the way another process would. */
function holdBusy(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    servers.push(s);
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const a = s.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

const tcp = (hostPort: number, hostPortEnd = hostPort) => ({ proto: 'tcp' as const, hostIp: '127.0.0.1', hostPort, hostPortEnd });

describe('host port allocation', () => {
  it('a port held by another socket → Docker\'s "already allocated" conflict', async () => {
    const busy = await holdBusy();
    const alloc = new PortAllocator([busy, busy]);
    await expect(alloc.allocate(tcp(busy), probeBind('tcp', '127.0.0.1'))).rejects.toMatchObject({
      code: 'conflict',
      message: `Bind for 127.0.0.1:${busy} failed: port is already allocated`,
    });
    expect(alloc.isHeld('tcp', '127.0.0.1', busy)).toBe(false);
  });

  it('a port berthd holds is never handed out again; 0.0.0.0 overlaps every address', async () => {
    const alloc = new PortAllocator();
    const free = await holdBusy();
    servers.pop()?.close();
    await new Promise((r) => setTimeout(r, 10));
    const lease = await alloc.allocate(tcp(free), probeBind('tcp', '127.0.0.1'));
    expect(lease.port).toBe(free);
    await expect(alloc.allocate(tcp(free), probeBind('tcp', '127.0.0.1'))).rejects.toThrow(`Bind for 127.0.0.1:${free} failed: port is already allocated`);
    await expect(alloc.allocate({ ...tcp(free), hostIp: '0.0.0.0' }, () => Promise.resolve(0))).rejects.toThrow('port is already allocated');
    expect(alloc.isHeld('udp', '127.0.0.1', free)).toBe(false);
    alloc.release('tcp', '127.0.0.1', free);
    expect(alloc.isHeld('tcp', '127.0.0.1', free)).toBe(false);
  });

  it('a host range gives its first free port, and fails whole when all are taken', async () => {
    const busy = await holdBusy();
    const alloc = new PortAllocator();
    alloc.hold('tcp', '0.0.0.0', busy + 1);
    const bind = (port: number): Promise<number> => (port === busy + 2 ? Promise.resolve(port) : probeBind('tcp', '127.0.0.1')(port));
    const lease = await alloc.allocate(tcp(busy, busy + 2), bind);
    expect(lease.port).toBe(busy + 2);
    await expect(alloc.allocate(tcp(busy, busy + 2), bind)).rejects.toThrow(`Bind for 127.0.0.1:${busy}-${busy + 2} failed: port is already allocated`);
  });

  it('random ports come round-robin from the range, skipping busy and held ones', async () => {
    const busy = await holdBusy();
    const alloc = new PortAllocator([busy, busy + 3]);
    alloc.hold('tcp', '127.0.0.1', busy + 1);
    const fake = (port: number): Promise<number> => (port === busy ? Promise.reject(Object.assign(new Error('in use'), { code: 'EADDRINUSE' })) : Promise.resolve(port));
    expect((await alloc.allocate(tcp(0), fake)).port).toBe(busy + 2);
    expect((await alloc.allocate(tcp(0), fake)).port).toBe(busy + 3);
    await expect(alloc.allocate(tcp(0), fake)).rejects.toMatchObject({ code: 'conflict', message: 'Bind for 127.0.0.1:0 failed: all ports are allocated' });
  });

  it('other bind failures keep their meaning', async () => {
    const alloc = new PortAllocator();
    const fail = (): Promise<number> => Promise.reject(Object.assign(new Error('nope'), { code: 'EADDRNOTAVAIL' }));
    await expect(alloc.allocate({ ...tcp(8080), hostIp: '10.9.9.9' }, fail)).rejects.toMatchObject({
      code: 'invalid-parameter',
      message: 'Error starting userland proxy: listen tcp4 10.9.9.9:8080: bind: cannot assign requested address',
    });
  });

  it('reads the ephemeral range, with Docker\'s default as the fallback', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-ports-'));
    await writeFile(join(dir, 'range'), '32768\t60999\n');
    expect(ephemeralPortRange(join(dir, 'range'))).toEqual([32768, 60999]);
    expect(ephemeralPortRange(join(dir, 'missing'))).toEqual([...DOCKER_EPHEMERAL_RANGE]);
  });
});
