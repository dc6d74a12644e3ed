import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { FileRoot } from '../../electron/shared/bridge.js';
import { BridgeFailure } from '../../electron/shared/bridge.js';
import { useApp } from '../support/app.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

function get(url: string): Promise<{ status: number; body: Buffer; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    })
      .on('error', reject)
      .end();
  });
}

/** The names in a tar (ustar headers: name at 0, size at 124, prefix at 345, magic at 257). */
function tarNames(tar: Buffer): string[] {
  const names: string[] = [];
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    expect(header.subarray(257, 262).toString('latin1')).toBe('ustar');
    const field = (from: number, length: number) => header.subarray(from, from + length).toString('utf8').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = prefix === '' ? field(0, 100) : `${prefix}/${field(0, 100)}`;
    const size = parseInt(field(124, 12).trim() || '0', 8);
    if (header[156] !== 0x78 && header[156] !== 0x67) names.push(name); // skip pax headers
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

async function refusal(p: Promise<unknown>): Promise<BridgeFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have been refused').toBeInstanceOf(BridgeFailure);
  return err as BridgeFailure;
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

describe('volumes and the file browser through the app', () => {
  const daemon = useDaemon({ image: 'oci' });
  const app = useApp(daemon);
  const vol: FileRoot = { kind: 'volume', name: 'appvol' };
  const inVolume = async (script: string) => {
    const r = await daemon().docker(['run', '--rm', '-v', 'appvol:/data', TEST_IMAGE, 'sh', '-c', script]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  it('creates a volume, and lists it with its size and the containers using it', async () => {
    const { bridge } = app();
    const created = await bridge.invoke('volumes:create', { name: 'appvol', labels: { team: 'berth' } });
    expect(created).toMatchObject({ name: 'appvol', driver: 'local', labels: { team: 'berth' }, anonymous: false, usedBy: [] });
    const bad = await refusal(bridge.invoke('volumes:create', { name: '-bad name' }));
    expect(bad.code).toBe('invalid-argument');
    expect(bad.message).toMatch(/not a valid volume name/);

    const w = await daemon().docker(['run', '--name', 'writer', '-v', 'appvol:/data', TEST_IMAGE, 'sh', '-c', 'dd if=/dev/zero of=/data/f bs=1k count=1024']);
    expect(w.code, w.stderr).toBe(0);
    const listed = (await bridge.invoke('volumes:list', undefined)).find((v) => v.name === 'appvol');
    expect(listed?.usedBy).toEqual(['writer']);
    expect(listed?.sizeBytes).toBeGreaterThanOrEqual(1024 * 1024);
    expect(listed?.sizeBytes).toBeLessThan(1024 * 1024 + 64 * 1024);

    const conflict = await refusal(bridge.invoke('volumes:remove', { name: 'appvol', force: false }));
    expect(conflict.code).toBe('conflict');
    expect(conflict.message).toMatch(/in use by container writer/);
    expect((await daemon().docker(['rm', 'writer'])).code).toBe(0);
    await inVolume('rm /data/f');
  });

  it('uploads a file that a container then reads byte for byte, and lists it', async () => {
    const { bridge } = app();
    const blob = new Uint8Array(300_000).map((_, i) => (i * 7919 + (i >> 8)) & 255);
    const entry = await bridge.invoke('files:upload', { root: vol, directory: '/', file: { name: 'blob.bin', bytes: blob }, overwrite: false });
    expect(entry).toMatchObject({ name: 'blob.bin', type: 'file', size: 300_000 });
    expect((await inVolume('md5sum /data/blob.bin')).split(' ')[0]).toBe(md5(blob));

    const again = await refusal(bridge.invoke('files:upload', { root: vol, directory: '/', file: { name: 'blob.bin', bytes: blob }, overwrite: false }));
    expect(again.status).toBe(409);
    const replaced = new TextEncoder().encode('hello from the app\n');
    await bridge.invoke('files:upload', { root: vol, directory: '/', file: { name: 'blob.bin', bytes: replaced }, overwrite: true });
    expect(await inVolume('cat /data/blob.bin')).toBe('hello from the app\n');

    // Over 1 MiB: the size at which berthd stops draining a refused body.
    const large = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => (i * 31) & 255);
    await bridge.invoke('files:upload', { root: vol, directory: '/', file: { name: 'large.bin', bytes: large }, overwrite: false });
    expect((await inVolume('md5sum /data/large.bin && rm /data/large.bin')).split(' ')[0]).toBe(md5(large));
    const taken = await refusal(bridge.invoke('files:upload', { root: vol, directory: '/', file: { name: 'blob.bin', bytes: large }, overwrite: false }));
    expect(taken.status).toBe(409);
    expect(taken.message).toMatch(/already exists/);

    await inVolume('mkdir /data/sub && echo x > /data/sub/x && chmod 0750 /data/sub && chown 1000:100 /data/sub');
    const listing = await bridge.invoke('files:list', { root: vol, path: '/' });
    expect(listing.path).toBe('/');
    expect(listing.entries.find((e) => e.name === 'blob.bin')).toMatchObject({ type: 'file', size: replaced.length, mode: 0o644, uid: 0, gid: 0 });
    expect(listing.entries.find((e) => e.name === 'sub')).toMatchObject({ type: 'directory', mode: 0o750, uid: 1000, gid: 100 });
    expect(Date.parse(listing.entries[0]?.mtime ?? '')).toBeGreaterThan(Date.now() - 10 * 60_000);
    expect((await bridge.invoke('files:list', { root: vol, path: '/sub' })).entries.map((e) => e.name)).toEqual(['x']);
  });

  it('reads the start of a large file and says it is truncated', async () => {
    const { bridge } = app();
    await inVolume('dd if=/dev/zero of=/data/big bs=1k count=5120 2>/dev/null && : > /data/empty');
    const head = await bridge.invoke('files:read', { root: vol, path: '/big', maxBytes: 1024 * 1024 });
    expect(head.bytes.length).toBe(1024 * 1024);
    expect(head).toMatchObject({ size: 5 * 1024 * 1024, truncated: true });
    const capped = await bridge.invoke('files:read', { root: vol, path: '/big', maxBytes: 64 * 1024 * 1024 });
    expect(capped.bytes.length).toBe(4 * 1024 * 1024);
    const small = await bridge.invoke('files:read', { root: vol, path: '/sub/x', maxBytes: 1024 * 1024 });
    expect(new TextDecoder().decode(small.bytes)).toBe('x\n');
    expect(small).toMatchObject({ size: 2, truncated: false });
    expect(await bridge.invoke('files:read', { root: vol, path: '/empty', maxBytes: 1024 })).toMatchObject({ size: 0, truncated: false });
    expect((await refusal(bridge.invoke('files:read', { root: vol, path: '/sub', maxBytes: 1024 }))).status).toBe(400);
    await inVolume('rm /data/big /data/empty');
  });

  it('makes, renames and deletes so that a container sees it', async () => {
    const { bridge } = app();
    expect(await bridge.invoke('files:mkdir', { root: vol, path: '/made' })).toMatchObject({ name: 'made', type: 'directory' });
    expect((await refusal(bridge.invoke('files:mkdir', { root: vol, path: '/made' }))).status).toBe(409);
    await bridge.invoke('files:rename', { root: vol, from: '/blob.bin', to: '/made/moved.txt' });
    expect(await inVolume('ls /data/made && cat /data/made/moved.txt')).toBe('moved.txt\nhello from the app\n');
    await bridge.invoke('files:delete', { root: vol, path: '/made' });
    expect(await inVolume('test -e /data/made && echo there || echo gone')).toBe('gone\n');
  });

  it('downloads a file, and a folder as a tar, only with the token', async () => {
    const { bridge } = app();
    const { url } = await bridge.invoke('files:downloadUrl', { root: vol, path: '/sub/x' });
    const file = await get(url);
    expect(file.status).toBe(200);
    expect(file.body.toString()).toBe('x\n');
    expect(String(file.headers['content-disposition'])).toContain('filename="x"');
    const tokenless = new URL(url);
    tokenless.search = '';
    expect((await get(tokenless.toString())).status).toBe(403);

    const folder = await get((await bridge.invoke('files:downloadUrl', { root: vol, path: '/sub' })).url);
    expect(folder.status).toBe(200);
    expect(folder.headers['content-type']).toBe('application/x-tar');
    expect(String(folder.headers['content-disposition'])).toContain('filename="sub.tar"');
    expect(tarNames(folder.body).map((n) => n.replace(/\/$/, ''))).toEqual(['sub', 'sub/x']);
    const whole = await get((await bridge.invoke('files:downloadUrl', { root: vol, path: '/' })).url);
    expect(String(whole.headers['content-disposition'])).toContain('filename="appvol.tar"');
    expect(tarNames(whole.body)).toContain('appvol/sub/x');
    expect((await refusal(bridge.invoke('files:downloadUrl', { root: vol, path: '/nope' }))).status).toBe(404);
  });

  it('refuses paths that leave the volume, and touches nothing outside', async () => {
    const { bridge } = app();
    await inVolume('ln -s /etc /data/out && ln -s ../.. /data/up');
    for (const path of ['../../etc/passwd', '/../../../etc/passwd', '/out/passwd', '/up/etc/passwd']) {
      const err = await refusal(bridge.invoke('files:read', { root: vol, path, maxBytes: 1024 }));
      expect(err.status, path).toBeGreaterThanOrEqual(400);
      expect(err.status, path).toBeLessThan(500);
      expect(err.message.length, path).toBeGreaterThan(10);
    }
    expect((await refusal(bridge.invoke('files:list', { root: vol, path: '/out' }))).status).toBe(403);
    const marker = `berth-app-test-${process.pid}`;
    const up = await refusal(bridge.invoke('files:upload', { root: vol, directory: '/out', file: { name: marker, bytes: new Uint8Array([1]) }, overwrite: false }));
    expect(up.status).toBe(403);
    expect(existsSync(`/etc/${marker}`)).toBe(false);
    expect((await refusal(bridge.invoke('files:mkdir', { root: vol, path: `/out/${marker}` }))).status).toBe(403);
    expect(existsSync(`/etc/${marker}`)).toBe(false);
    expect((await refusal(bridge.invoke('files:delete', { root: vol, path: '/out/hostname' }))).status).toBe(403);
    expect(existsSync('/etc/hostname')).toBe(true);
    // The link itself is the volume's and can go (never what it points to).
    await bridge.invoke('files:delete', { root: vol, path: '/out' });
    expect(existsSync('/etc/passwd')).toBe(true);

    const nul = await refusal(bridge.invoke('files:list', { root: vol, path: '/a\0b' }));
    expect(nul.code).toBe('invalid-argument');
    expect((await refusal(bridge.invoke('files:list', { root: vol, path: `/${'a'.repeat(5000)}` }))).message).toMatch(/shorter than 4096 bytes/);
    expect((await refusal(bridge.invoke('files:upload', { root: vol, directory: '/', file: { name: '../x', bytes: new Uint8Array() }, overwrite: false }))).code).toBe(
      'invalid-argument',
    );
  });

  it("lists a running container's files, and refuses to change them", async () => {
    const { bridge } = app();
    const r = await daemon().docker(['run', '-d', '--name', 'web', TEST_IMAGE, 'sleep', '300']);
    expect(r.code, r.stderr).toBe(0);
    const root: FileRoot = { kind: 'container', id: 'web' };
    const etc = await bridge.invoke('files:list', { root, path: '/etc' });
    expect(etc.entries.map((e) => e.name)).toContain('passwd');
    const passwd = await bridge.invoke('files:read', { root, path: '/etc/passwd', maxBytes: 4096 });
    expect(new TextDecoder().decode(passwd.bytes)).toContain('root:');
    const download = await get((await bridge.invoke('files:downloadUrl', { root, path: '/etc/passwd' })).url);
    expect(download.body.toString()).toBe(new TextDecoder().decode(passwd.bytes));
    // Thunks, each awaited in turn: a list of started invokes would leave the later refusals unhandled meanwhile.
    for (const change of [
      () => bridge.invoke('files:upload', { root, directory: '/tmp', file: { name: 'x', bytes: new Uint8Array([1]) }, overwrite: false }),
      () => bridge.invoke('files:upload', { root, directory: '/tmp', file: { name: 'big', bytes: new Uint8Array(3 * 1024 * 1024) }, overwrite: false }),
      () => bridge.invoke('files:mkdir', { root, path: '/tmp/new' }),
      () => bridge.invoke('files:delete', { root, path: '/etc/passwd' }),
      () => bridge.invoke('files:rename', { root, from: '/etc/passwd', to: '/etc/passwd2' }),
    ]) {
      const err = await refusal(change());
      expect(err.status).toBe(403);
      expect(err.message).toMatch(/docker cp|read-only|container/i);
    }
    expect((await daemon().docker(['exec', 'web', 'ls', '/tmp'])).stdout).toBe('');
    await daemon().docker(['rm', '-f', 'web']);
  });
});
