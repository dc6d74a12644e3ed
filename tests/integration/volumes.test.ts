import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../support/command.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { mountsUnder } from '../support/leaks.js';
import { useDaemon } from '../support/suite.js';

/**
 * Volumes through the real docker CLI and dockerode: create (labels, tmpfs- and bind-backed
 * options), ls with each filter, inspect, rm (409 while a container has it, -f), prune (default
 * = anonymous only, --all / all=true, label filters), the volume events, and records and data
 * surviving a berthd restart. Option-backed volumes must be mounted only while a container
 * uses them: the harness' leak check fails the file if any mount is left.
 */
const daemon = useDaemon({ image: 'oci' });

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/;

async function docker(args: readonly string[]): Promise<CommandResult> {
  return daemon().docker(args);
}

async function ok(args: readonly string[]): Promise<string> {
  const r = await docker(args);
  expect(r.code, `docker ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

async function inspectJson(name: string): Promise<Record<string, unknown>> {
  const out = await ok(['volume', 'inspect', name]);
  const parsed = JSON.parse(out) as Record<string, unknown>[];
  expect(parsed).toHaveLength(1);
  return parsed[0] as Record<string, unknown>;
}

async function lsNames(...filters: string[]): Promise<string[]> {
  const out = await ok(['volume', 'ls', '-q', ...filters.flatMap((f) => ['--filter', f])]);
  return out === '' ? [] : out.split('\n').sort();
}

function dataDir(name: string): string {
  return join(daemon().dataRoot, 'volumes', name, '_data');
}

async function mounted(path: string): Promise<boolean> {
  return (await mountsUnder([path])).includes(path);
}

/** Removes every volume and container, so each test starts from an empty engine. */
async function clean(): Promise<void> {
  const ids = (await ok(['ps', '-aq'])).split('\n').filter(Boolean);
  if (ids.length > 0) await ok(['rm', '-f', ...ids]);
  const vols = (await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean);
  if (vols.length > 0) await ok(['volume', 'rm', '-f', ...vols]);
}

describe('docker volume create / inspect', () => {
  it('creates a named volume with labels; inspect shows Docker\'s fields (CLI and dockerode)', async () => {
    await clean();
    expect(await ok(['volume', 'create', '--label', 'team=web', '--label', 'backup', 'webdata'])).toBe('webdata');
    const v = await inspectJson('webdata');
    expect(v).toMatchObject({
      Name: 'webdata',
      Driver: 'local',
      Labels: { team: 'web', backup: '' },
      Mountpoint: dataDir('webdata'),
      Scope: 'local',
      Options: null,
    });
    expect(v.CreatedAt).toMatch(RFC3339);
    expect(Math.abs(Date.parse(v.CreatedAt as string) - Date.now())).toBeLessThan(60_000);
    expect(v).not.toHaveProperty('UsageData');
    expect(existsSync(dataDir('webdata'))).toBe(true);

    const dk = daemon().dockerode;
    // dockerode's createVolume() answers with a Volume handle on the created name.
    const created = await dk.createVolume({ Name: 'apidata', Labels: { via: 'dockerode' } });
    expect(created.name).toBe('apidata');
    expect(await created.inspect()).toMatchObject({ Name: 'apidata', Driver: 'local', Labels: { via: 'dockerode' }, Mountpoint: dataDir('apidata'), Scope: 'local' });
    // Docker's create is idempotent: the same volume back, no error.
    expect(await ok(['volume', 'create', 'webdata'])).toBe('webdata');
    expect((await inspectJson('webdata')).CreatedAt).toBe(v.CreatedAt);
  });

  it('makes an anonymous volume without a name', async () => {
    const name = await ok(['volume', 'create']);
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    expect((await inspectJson(name)).Labels).toEqual({ 'com.docker.volume.anonymous': '' });
  });

  it('refuses bad names, other drivers, unknown options and contradicting re-creates with 4xx messages', async () => {
    let r = await docker(['volume', 'create', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('volume name is too short');
    r = await docker(['volume', 'create', 'bad/name']);
    expect(r.stderr).toContain('includes invalid characters for a local volume name');
    r = await docker(['volume', 'create', '-d', 'nfsplugin', 'pluginvol']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nfsplugin');
    r = await docker(['volume', 'create', '-o', 'colour=red', 'optvol']);
    expect(r.stderr).toContain('invalid option: "colour"');
    r = await docker(['volume', 'create', '-o', 'type=tmpfs', 'optvol']);
    expect(r.stderr).toContain('missing required option: "device"');
    await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', 'sized']);
    r = await docker(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m', 'sized']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('already exists with other options');
    await expect(daemon().dockerode.getVolume('nosuch').inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(daemon().dockerode.createVolume({ Name: 'a' })).rejects.toMatchObject({ statusCode: 400 });
    const nothing = await docker(['volume', 'inspect', 'nosuch']);
    expect(nothing.stderr).toContain('no such volume');
    for (const name of ['x', 'bad', 'optvol', 'pluginvol']) expect(existsSync(join(daemon().dataRoot, 'volumes', name))).toBe(false);
  });
});

describe('option-backed volumes', () => {
  it('a tmpfs volume is a tmpfs with its size and mode while a container uses it, and unmounted after', async () => {
    await clean();
    await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m,mode=0750,nosuid', 'scratch']);
    expect((await inspectJson('scratch')).Options).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=2m,mode=0750,nosuid' });
    expect(await mounted(dataDir('scratch'))).toBe(false);
    const out = await ok(['run', '--rm', '-v', 'scratch:/data', TEST_IMAGE, 'sh', '-c', 'stat -f -c %T /data; stat -c %a /data; df -k /data | tail -1; grep " /data " /proc/mounts']);
    const [fsType, mode, df, procLine] = out.split('\n');
    expect(fsType).toBe('tmpfs');
    expect(mode).toBe('750');
    expect(df?.split(/\s+/)[1]).toBe('2048');
    expect(procLine).toContain('nosuid');
    expect(await mounted(dataDir('scratch'))).toBe(false);
  });

  it('the mount is shared by running containers and goes with the last one', async () => {
    await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'shared']);
    const a = await ok(['run', '-d', '-v', 'shared:/data', TEST_IMAGE, 'sh', '-c', 'echo from-a > /data/a; sleep 60']);
    const b = await ok(['run', '-d', '-v', 'shared:/data', TEST_IMAGE, 'sleep', '60']);
    expect(await mounted(dataDir('shared'))).toBe(true);
    expect(await ok(['exec', b, 'cat', '/data/a'])).toBe('from-a');
    await ok(['rm', '-f', a]);
    expect(await mounted(dataDir('shared'))).toBe(true);
    expect(await ok(['exec', b, 'cat', '/data/a'])).toBe('from-a');
    await ok(['rm', '-f', b]);
    expect(await mounted(dataDir('shared'))).toBe(false);
  });

  it('a bind-backed volume shows a host directory; a missing device fails at start, as Docker', async () => {
    const host = join(daemon().root, 'host-src');
    await mkdir(host, { recursive: true });
    await writeFile(join(host, 'from-host'), 'hello\n');
    await ok(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${host}`, 'bound']);
    expect(await ok(['run', '--rm', '-v', 'bound:/data', TEST_IMAGE, 'sh', '-c', 'cat /data/from-host; echo back > /data/from-container'])).toBe('hello');
    expect(await readFile(join(host, 'from-container'), 'utf8')).toBe('back\n');
    expect(await mounted(dataDir('bound'))).toBe(false);
    // Removing the volume never touches the host directory.
    await ok(['volume', 'rm', 'bound']);
    expect(await readFile(join(host, 'from-host'), 'utf8')).toBe('hello\n');

    const missing = join(daemon().root, 'not-there');
    await ok(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${missing}`, 'dangling-bind']);
    const r = await docker(['run', '--rm', '-v', 'dangling-bind:/data', TEST_IMAGE, 'true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('failed to mount local volume');
    expect(await mounted(dataDir('dangling-bind'))).toBe(false);
    await rm(host, { recursive: true, force: true });
  });
});

describe('docker volume ls', () => {
  it('filters by dangling, name, label and driver (CLI and dockerode)', async () => {
    await clean();
    await ok(['volume', 'create', '--label', 'app=web', 'web-data']);
    await ok(['volume', 'create', '--label', 'app=db', '--label', 'tier', 'db-data']);
    await ok(['volume', 'create', 'cache']);
    await ok(['create', '--name', 'user', '-v', 'db-data:/data', TEST_IMAGE, 'true']);

    expect(await lsNames()).toEqual(['cache', 'db-data', 'web-data']);
    expect(await lsNames('dangling=true')).toEqual(['cache', 'web-data']);
    expect(await lsNames('dangling=false')).toEqual(['db-data']);
    expect(await lsNames('name=data')).toEqual(['db-data', 'web-data']);
    expect(await lsNames('name=cac')).toEqual(['cache']);
    expect(await lsNames('label=app')).toEqual(['db-data', 'web-data']);
    expect(await lsNames('label=app=db')).toEqual(['db-data']);
    expect(await lsNames('label=tier', 'label=app=db')).toEqual(['db-data']);
    expect(await lsNames('driver=local')).toEqual(['cache', 'db-data', 'web-data']);
    expect(await lsNames('driver=other')).toEqual([]);
    const bad = await docker(['volume', 'ls', '--filter', 'colour=red']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("invalid filter 'colour'");

    const listed = await daemon().dockerode.listVolumes({ filters: JSON.stringify({ label: ['app=web'] }) });
    expect(listed.Warnings).toEqual([]);
    expect(listed.Volumes.map((v) => v.Name)).toEqual(['web-data']);
    expect(listed.Volumes[0]).toMatchObject({ Driver: 'local', Labels: { app: 'web' }, Scope: 'local', Mountpoint: dataDir('web-data') });
    const all = await daemon().dockerode.listVolumes();
    expect(all.Volumes.map((v) => v.Name).sort()).toEqual(['cache', 'db-data', 'web-data']);
    await ok(['rm', 'user']);
  });
});

describe('docker volume rm', () => {
  it('refuses a volume any container has (even stopped, even with -f) with Docker\'s message', async () => {
    await clean();
    await ok(['volume', 'create', 'busy']);
    const id = await ok(['create', '-v', 'busy:/data', TEST_IMAGE, 'true']);
    for (const args of [['volume', 'rm', 'busy'], ['volume', 'rm', '-f', 'busy']]) {
      const r = await docker(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`remove busy: volume is in use - [${id}]`);
    }
    await expect(daemon().dockerode.getVolume('busy').remove()).rejects.toMatchObject({ statusCode: 409 });
    await ok(['rm', id]);
    await ok(['volume', 'rm', 'busy']);
    expect(existsSync(join(daemon().dataRoot, 'volumes', 'busy'))).toBe(false);
  });

  it('404s a missing volume; -f makes that a success', async () => {
    const r = await docker(['volume', 'rm', 'ghost']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('get ghost: no such volume');
    await ok(['volume', 'rm', '-f', 'ghost']);
    await expect(daemon().dockerode.getVolume('ghost').remove()).rejects.toMatchObject({ statusCode: 404 });
    await ok(['volume', 'create', 'byapi']);
    await daemon().dockerode.getVolume('byapi').remove();
    expect(await lsNames()).toEqual([]);
  });
});

describe('docker volume prune', () => {
  async function seed(): Promise<{ anonUnused: string; anonUsed: string; container: string }> {
    await clean();
    const anonUnused = await ok(['volume', 'create']);
    await writeFile(join(dataDir(anonUnused), 'blob'), Buffer.alloc(3 * 1024 * 1024));
    const container = await ok(['create', '-v', '/anon', TEST_IMAGE, 'true']);
    const mounts = JSON.parse(await ok(['inspect', '--format', '{{json .Mounts}}', container])) as { Name: string }[];
    const anonUsed = mounts[0]?.Name ?? '';
    expect(anonUsed).toMatch(/^[0-9a-f]{64}$/);
    await ok(['volume', 'create', '--label', 'keep=yes', 'named-keep']);
    await ok(['volume', 'create', '--label', 'keep=no', 'named-drop']);
    await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'tmpfs-vol']);
    return { anonUnused, anonUsed, container };
  }

  it('by default removes only unused anonymous volumes and reports the space', async () => {
    const { anonUnused, anonUsed } = await seed();
    const out = await ok(['volume', 'prune', '-f']);
    expect(out).toContain(anonUnused);
    expect(out).toContain('Total reclaimed space: 3.146MB');
    expect(await lsNames()).toEqual([anonUsed, 'named-drop', 'named-keep', 'tmpfs-vol'].sort());
  });

  it('--all (all=true) takes unused named volumes too; label filters narrow it; option-backed ones stay', async () => {
    const { anonUsed, container } = await seed();
    const out = await ok(['volume', 'prune', '-f', '--all', '--filter', 'label!=keep=yes']);
    expect(out).toContain('named-drop');
    expect(out).not.toContain('named-keep');
    expect(await lsNames()).toEqual([anonUsed, 'named-keep', 'tmpfs-vol'].sort());
    const report = await daemon().dockerode.pruneVolumes({ filters: JSON.stringify({ all: ['true'] }) });
    expect(report).toEqual({ VolumesDeleted: ['named-keep'], SpaceReclaimed: 0 });
    expect(await lsNames()).toEqual([anonUsed, 'tmpfs-vol'].sort());
    // The container's anonymous volume goes with `docker rm -v`, then prune has nothing left.
    await ok(['rm', '-v', container]);
    expect(await lsNames()).toEqual(['tmpfs-vol']);
    const bad = await docker(['volume', 'prune', '-f', '--filter', 'all=maybe']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("invalid filter 'all'");
  });
});

interface VolumeEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
}

describe('volume events', () => {
  it('docker events --filter type=volume shows create, mount, unmount, destroy and prune', async () => {
    await clean();
    // Millisecond precision: the events of clean() a moment ago must fall before the window.
    await sleep(5);
    const since = (Date.now() / 1000).toFixed(3);
    await sleep(5);
    await ok(['volume', 'create', 'evented']);
    const id = await ok(['run', '-d', '-v', 'evented:/data:ro', TEST_IMAGE, 'true']);
    await ok(['wait', id]);
    await ok(['rm', id]);
    await ok(['volume', 'rm', 'evented']);
    await ok(['volume', 'prune', '-f']);
    const until = Math.ceil(Date.now() / 1000) + 1;
    const out = await ok(['events', '--since', since, '--until', String(until), '--filter', 'type=volume', '--format', '{{json .}}']);
    const events = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as VolumeEvent);
    expect(events.every((e) => e.Type === 'volume')).toBe(true);
    expect(events.map((e) => e.Action)).toEqual(['create', 'mount', 'unmount', 'destroy', 'prune']);
    const [create, mount, unmount, destroy, prune] = events;
    expect(create?.Actor).toEqual({ ID: 'evented', Attributes: { driver: 'local' } });
    expect(mount?.Actor).toEqual({
      ID: 'evented',
      Attributes: { driver: 'local', container: id, destination: '/data', 'read/write': 'false', propagation: '' },
    });
    expect(unmount?.Actor).toEqual({ ID: 'evented', Attributes: { driver: 'local', container: id } });
    expect(destroy?.Actor).toEqual({ ID: 'evented', Attributes: { driver: 'local' } });
    expect(prune?.Actor.Attributes).toEqual({ reclaimed: '0' });

    const byName = await ok(['events', '--since', since, '--until', String(until), '--filter', 'volume=evented', '--filter', 'event=destroy', '--format', '{{.Action}} {{.Actor.ID}}']);
    expect(byName).toBe('destroy evented');
  });
});

describe('across a berthd restart', () => {
  it('keeps volume records and data; a volume a container uses stays in use', async () => {
    await clean();
    await ok(['volume', 'create', '--label', 'kept=1', 'durable']);
    await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', 'durable-tmpfs']);
    await ok(['run', '--rm', '-v', 'durable:/data', TEST_IMAGE, 'sh', '-c', 'echo survives > /data/file']);
    const user = await ok(['create', '-v', 'durable:/data', TEST_IMAGE, 'cat', '/data/file']);
    const before = [await inspectJson('durable'), await inspectJson('durable-tmpfs')];
    // A running user of the tmpfs volume: SIGTERM must still leave no mount behind.
    await ok(['run', '-d', '--stop-timeout', '1', '-v', 'durable-tmpfs:/t', TEST_IMAGE, 'sleep', '60']);
    expect(await mounted(dataDir('durable-tmpfs'))).toBe(true);

    await daemon().restart();

    expect(await mounted(dataDir('durable-tmpfs'))).toBe(false);
    expect([await inspectJson('durable'), await inspectJson('durable-tmpfs')]).toEqual(before);
    expect(await lsNames('label=kept=1')).toEqual(['durable']);
    expect(await ok(['start', '-a', user])).toBe('survives');
    const r = await docker(['volume', 'rm', 'durable']);
    expect(r.stderr).toContain('volume is in use');
    await clean();
  });

  it('after a crash, a tmpfs volume left mounted is unmounted at start when no container uses it', async () => {
    await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'crashy']);
    const id = await ok(['run', '-d', '-v', 'crashy:/t', TEST_IMAGE, 'sleep', '60']);
    expect(await mounted(dataDir('crashy'))).toBe(true);
    await daemon().stop('SIGKILL');
    expect(await mounted(dataDir('crashy'))).toBe(true);
    await daemon().restart();
    expect(await mounted(dataDir('crashy'))).toBe(false);
    // The container (recovered as exited) can start again and gets a fresh mount.
    await ok(['start', id]);
    expect(await mounted(dataDir('crashy'))).toBe(true);
    await clean();
    expect(await mounted(dataDir('crashy'))).toBe(false);
  });
});
