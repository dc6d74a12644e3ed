import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../support/command.js';
import { fixturePath, TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

/** The test image plus /data (1000:1000, 0750) holding `file` (1000:1000, 0640) and a link to it, with VOLUME /data. */
const VOLUME_IMAGE = 'berth.test/with-volume:1';

// Volumes, binds and tmpfs through the real CLI: what the container sees (content, modes,
// read-only), what inspect and ps show, which volumes `rm -v` and `--rm` take, copy-up of the
// image's content, and refusals that leave nothing behind.
describe('container mounts', () => {
  const daemon = useDaemon({ image: 'oci' });
  const docker = (...args: string[]) => daemon().docker(args);
  const run = (...args: string[]) => docker('run', '--rm', '--network', 'none', ...args);
  const volumeList = async (): Promise<string[]> => (await docker('volume', 'ls', '-q')).stdout.split('\n').filter(Boolean).sort();
  const inspectMounts = async (ref: string): Promise<Record<string, unknown>[]> =>
    JSON.parse((await docker('inspect', '--format', '{{json .Mounts}}', ref)).stdout) as Record<string, unknown>[];
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'berth-mounts-'));
    const rootfs = join(scratch, 'rootfs');
    mkdirSync(rootfs);
    const untar = await runCommand('tar', ['-xf', fixturePath('rootfsTar'), '-C', rootfs]);
    if (untar.code !== 0) throw new Error(untar.stderr);
    mkdirSync(join(rootfs, 'data'));
    writeFileSync(join(rootfs, 'data', 'file'), 'from the image\n');
    symlinkSync('file', join(rootfs, 'data', 'link'));
    chownSync(join(rootfs, 'data', 'file'), 1000, 1000);
    chmodSync(join(rootfs, 'data', 'file'), 0o640);
    chownSync(join(rootfs, 'data'), 1000, 1000);
    chmodSync(join(rootfs, 'data'), 0o750);
    const tar = await runCommand('tar', ['--numeric-owner', '-C', rootfs, '-cf', join(scratch, 'image.tar'), '.']);
    if (tar.code !== 0) throw new Error(tar.stderr);
    const imported = await docker('import', '--change', 'VOLUME /data', '--change', 'CMD ["sh"]', join(scratch, 'image.tar'), VOLUME_IMAGE);
    if (imported.code !== 0) throw new Error(imported.stderr);
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('mounts a named volume (made on first use) that outlives its containers, read-only when asked', async () => {
    const w = await run('-v', 'notes:/srv/notes', TEST_IMAGE, 'sh', '-c', 'echo kept > /srv/notes/a; grep " /srv/notes " /proc/mounts | cut -d" " -f4');
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/^rw[,\n]/);
    expect(await volumeList()).toContain('notes');
    const ro = await run('-v', 'notes:/srv/notes:ro', TEST_IMAGE, 'sh', '-c', 'cat /srv/notes/a; touch /srv/notes/b');
    expect(ro.stdout).toBe('kept\n');
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);

    await docker('create', '--name', 'insp', '-v', 'notes:/srv/notes:ro', TEST_IMAGE);
    const [m] = await inspectMounts('insp');
    expect(m).toEqual({
      Type: 'volume', Name: 'notes', Source: join(daemon().dataRoot, 'volumes', 'notes', '_data'), Destination: '/srv/notes',
      Driver: 'local', Mode: 'ro', RW: false, Propagation: '',
    });
    expect((await docker('inspect', '--format', '{{json .HostConfig.Binds}}', 'insp')).stdout.trim()).toBe('["notes:/srv/notes:ro"]');
    // ps: the volume filter and the MOUNTS column.
    expect((await docker('ps', '-a', '--filter', 'volume=notes', '--format', '{{.Names}} {{.Mounts}}')).stdout.trim()).toBe('insp notes');
    expect((await docker('ps', '-a', '--filter', 'volume=/srv/notes', '-q')).stdout.trim()).not.toBe('');
    expect((await docker('ps', '-a', '--filter', 'volume=other', '-q')).stdout.trim()).toBe('');
    // In use: the volume cannot go; `rm -v` never takes a named volume.
    expect((await docker('volume', 'rm', 'notes')).code).not.toBe(0);
    await docker('rm', '-v', 'insp');
    expect(await volumeList()).toContain('notes');
    expect((await docker('volume', 'rm', 'notes')).code).toBe(0);
  });

  it('binds host paths both ways, read-only when asked, and makes a missing -v source', async () => {
    const host = join(scratch, 'bind');
    mkdirSync(host);
    writeFileSync(join(host, 'in'), 'from the host\n');
    const rw = await run('-v', `${host}:/mnt/h`, TEST_IMAGE, 'sh', '-c', 'cat /mnt/h/in; echo from the container > /mnt/h/out');
    expect(rw.code, rw.stderr).toBe(0);
    expect(rw.stdout).toBe('from the host\n');
    expect(readFileSync(join(host, 'out'), 'utf8')).toBe('from the container\n');

    const ro = await run('--mount', `type=bind,source=${host},target=/mnt/h,readonly`, TEST_IMAGE, 'sh', '-c', 'cat /mnt/h/out; echo x > /mnt/h/in');
    expect(ro.stdout).toBe('from the container\n');
    expect(ro.stderr).toMatch(/Read-only file system/);
    expect(readFileSync(join(host, 'in'), 'utf8')).toBe('from the host\n');

    const made = join(scratch, 'made', 'by', 'berthd');
    const mk = await run('-v', `${made}:/m`, TEST_IMAGE, 'touch', '/m/x');
    expect(mk.code, mk.stderr).toBe(0);
    expect(statSync(join(made, 'x')).isFile()).toBe(true);

    await docker('create', '--name', 'bind-insp', '-v', `${host}:/mnt/h:ro,rslave`, TEST_IMAGE);
    expect(await inspectMounts('bind-insp')).toEqual([{ Type: 'bind', Source: host, Destination: '/mnt/h', Mode: 'ro,rslave', RW: false, Propagation: 'rslave' }]);
    await docker('rm', 'bind-insp');
  });

  it('refuses a --mount bind of a missing path, duplicate mount points and bad specs, leaving nothing behind', async () => {
    const missing = join(scratch, 'does-not-exist');
    const r = await docker('create', '--name', 'refused', '-v', 'early:/a', '--mount', `type=bind,source=${missing},target=/b`, TEST_IMAGE);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`invalid mount config for type "bind": bind source path does not exist: ${missing}`);
    const dup = await docker('create', '--name', 'refused', '-v', 'early:/x', '-v', `${scratch}:/x`, TEST_IMAGE);
    expect(dup.stderr).toContain('Duplicate mount point: /x');
    const tmpfsDup = await docker('create', '--name', 'refused', '-v', '/y', '-v', 'early:/x', '--tmpfs', '/x', TEST_IMAGE);
    expect(tmpfsDup.stderr).toContain('Duplicate mount point: /x');
    const bad = await docker('create', '--name', 'refused', '-v', 'early:/x:rw,ro', TEST_IMAGE);
    expect(bad.stderr).toContain('invalid mode: rw,ro');
    const badTmpfs = await docker('create', '--name', 'refused', '-v', 'early:/x', '--tmpfs', '/t:size=1m,colour=red', TEST_IMAGE);
    expect(badTmpfs.stderr).toContain('invalid tmpfs option "colour"');
    const from = await docker('create', '--name', 'refused', '--volumes-from', 'nosuch', '-v', 'early:/x', TEST_IMAGE);
    expect(from.stderr).toContain('No such container: nosuch');
    expect((await docker('ps', '-aq')).stdout).toBe('');
    expect(await volumeList()).toEqual([]);
  });

  it('mounts --tmpfs and --mount type=tmpfs with their size and mode, noexec,nosuid,nodev by default', async () => {
    const r = await run('--tmpfs', '/run/t:size=64m,mode=1777', '--mount', 'type=tmpfs,destination=/scratch,tmpfs-size=1048576,tmpfs-mode=0700', TEST_IMAGE, 'sh', '-c',
      'stat -c %a /run/t /scratch; grep -E " /run/t | /scratch " /proc/mounts; df -k /run/t | tail -1 | awk \'{print $2}\'; echo hi > /scratch/f && cat /scratch/f');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['1777', '700']);
    const runT = lines.find((l) => l.includes(' /run/t ')) ?? '';
    // (1777 is tmpfs's default mode, which the kernel leaves out of the options it shows.)
    expect(runT).toMatch(/^tmpfs \/run\/t tmpfs rw,nosuid,nodev,noexec,.*size=65536k/);
    expect(lines.find((l) => l.includes(' /scratch ')) ?? '').toMatch(/size=1024k.*mode=700/);
    expect(lines).toContain('65536');
    expect(lines.at(-1)).toBe('hi');

    await docker('create', '--name', 'tmpfs-insp', '--tmpfs', '/run/t:size=64m', '--mount', 'type=tmpfs,destination=/scratch,readonly', TEST_IMAGE);
    // Docker shows --mount tmpfs mounts in Mounts, --tmpfs ones only in HostConfig.Tmpfs.
    expect(await inspectMounts('tmpfs-insp')).toEqual([{ Type: 'tmpfs', Source: '', Destination: '/scratch', Mode: '', RW: false, Propagation: '' }]);
    expect((await docker('inspect', '--format', '{{json .HostConfig.Tmpfs}}', 'tmpfs-insp')).stdout.trim()).toBe('{"/run/t":"size=64m"}');
    await docker('rm', 'tmpfs-insp');
    expect(await volumeList()).toEqual([]);
  });

  it('removes anonymous volumes (-v /path and the image\'s VOLUME) with rm -v and --rm, and keeps them without -v', async () => {
    await docker('create', '--name', 'anon', '-v', '/scratch', VOLUME_IMAGE);
    const mounts = await inspectMounts('anon');
    expect(mounts.map((m) => m.Destination)).toEqual(['/data', '/scratch']);
    for (const m of mounts) expect(m).toMatchObject({ Type: 'volume', Name: expect.stringMatching(/^[0-9a-f]{64}$/), Driver: 'local', Mode: '', RW: true });
    expect(JSON.parse((await docker('inspect', '--format', '{{json .Config.Volumes}}', 'anon')).stdout)).toEqual({ '/data': {}, '/scratch': {} });
    expect((await volumeList()).length).toBe(2);
    await docker('rm', '-v', 'anon');
    expect(await volumeList()).toEqual([]);

    await docker('create', '--name', 'kept', '-v', '/scratch', TEST_IMAGE);
    const [kept] = await inspectMounts('kept');
    await docker('rm', 'kept');
    expect(await volumeList()).toEqual([kept?.Name]);
    await docker('volume', 'rm', String(kept?.Name));

    const r = await run('-v', '/scratch', '-v', 'named-stays:/n', VOLUME_IMAGE, 'sh', '-c', 'touch /scratch/x /data/y');
    expect(r.code, r.stderr).toBe(0);
    expect(await volumeList()).toEqual(['named-stays']);
    await docker('volume', 'rm', 'named-stays');
  });

  it('shares volumes and binds with --volumes-from, read-only when asked', async () => {
    const host = join(scratch, 'shared-bind');
    mkdirSync(host);
    await docker('create', '--name', 'holder', '-v', 'vf:/shared', '-v', `${host}:/hostdir`, '--tmpfs', '/not-shared', TEST_IMAGE);
    const w = await run('--volumes-from', 'holder', TEST_IMAGE, 'sh', '-c', 'echo via-from > /shared/f; echo b > /hostdir/b; test -d /not-shared || echo no-tmpfs');
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toBe('no-tmpfs\n');
    expect(readFileSync(join(host, 'b'), 'utf8')).toBe('b\n');
    const ro = await run('--volumes-from', 'holder:ro', TEST_IMAGE, 'sh', '-c', 'cat /shared/f; touch /shared/g');
    expect(ro.stdout).toBe('via-from\n');
    expect(ro.stderr).toMatch(/Read-only file system/);
    await docker('rm', 'holder');
    await docker('volume', 'rm', 'vf');
  });

  it('copies the image\'s content into an empty volume with owners and modes, but not into a full one or with nocopy', async () => {
    const show = 'stat -c "%n %u:%g %a" /data /data/file; readlink /data/link; cat /data/file; ls /data | wc -l';
    const fresh = await run('-v', 'cu:/data', VOLUME_IMAGE, 'sh', '-c', show);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toBe('/data 1000:1000 750\n/data/file 1000:1000 640\nfile\nfrom the image\n2\n');
    // Already filled: the user's changes stay, nothing is copied again.
    await run('-v', 'cu:/data', VOLUME_IMAGE, 'sh', '-c', 'rm /data/link; echo changed > /data/file');
    expect((await run('-v', 'cu:/data', VOLUME_IMAGE, 'sh', '-c', 'ls /data; cat /data/file')).stdout).toBe('file\nchanged\n');

    // A volume holding anything (made by another image at another path) is not filled.
    await run('-v', 'full:/elsewhere', TEST_IMAGE, 'touch', '/elsewhere/mine');
    expect((await run('-v', 'full:/data', VOLUME_IMAGE, 'ls', '/data')).stdout).toBe('mine\n');
    expect((await run('-v', 'nc:/data:nocopy', VOLUME_IMAGE, 'ls', '-A', '/data')).stdout).toBe('');
    expect((await run('--mount', 'type=volume,src=nc2,dst=/data,volume-nocopy', VOLUME_IMAGE, 'ls', '-A', '/data')).stdout).toBe('');
    // The image's VOLUME as an anonymous volume is filled too, and so is a tmpfs-backed volume
    // (mounted first, then filled: the copy lands on the tmpfs, not under it).
    expect((await run(VOLUME_IMAGE, 'cat', '/data/file')).stdout).toBe('from the image\n');
    await docker('volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', 'tv');
    const onTmpfs = await run('-v', 'tv:/data', VOLUME_IMAGE, 'sh', '-c', 'cat /data/file; grep " /data " /proc/mounts | cut -d" " -f3');
    expect(onTmpfs.stdout, onTmpfs.stderr).toBe('from the image\ntmpfs\n');
    for (const v of ['cu', 'full', 'nc', 'nc2', 'tv']) await docker('volume', 'rm', v);
    expect(await volumeList()).toEqual([]);
  });
});
