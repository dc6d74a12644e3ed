import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerRecord, HostConfig } from '../../../runtime-agent/src/containers/model.js';
import { anonymousVolumes, ensurePlanVolumes, planMounts } from '../../../runtime-agent/src/containers/mounts.js';
import { mountSpecs } from '../../../runtime-agent/src/containers/mount-specs.js';
import { EventBus } from '../../../runtime-agent/src/events/bus.js';
import { loadAddon } from '../../../runtime-agent/src/native/addon.js';
import { DataLayout } from '../../../runtime-agent/src/store/layout.js';
import { VolumeService } from '../../../runtime-agent/src/volumes/service.js';

// Create-time resolution against the real volume service on a temp data root: precedence,
// duplicates, refusals that leave nothing behind, and the undo of anonymous volumes.
describe('planMounts + ensurePlanVolumes', () => {
  let root: string;
  let volumes: VolumeService;
  let containers: ContainerRecord[];
  const volumeNames = (): string[] => readdirSync(join(root, 'data', 'volumes')).sort();
  const plan = (hc: HostConfig, configVolumes: Record<string, object> = {}) =>
    planMounts({ hostConfig: hc, configVolumes, findContainer: (ref) => containers.find((c) => c.Name === ref) });
  async function refusal(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected a refusal');
  }

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'berth-mounts-'));
    mkdirSync(join(root, 'host'));
    containers = [];
    volumes = new VolumeService({
      layout: new DataLayout(join(root, 'data'), join(root, 'exec')),
      addon: loadAddon(),
      events: new EventBus(),
      users: { containersUsing: (name) => containers.filter((c) => c.MountPoints?.some((m) => m.Name === name)) },
    });
    await volumes.init();
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('resolves every syntax into sorted mount points with their volumes', async () => {
    const hc: HostConfig = {
      Binds: ['named:/data/cache:ro', `${join(root, 'host')}:/data`],
      Mounts: [{ Type: 'volume', Target: '/scratch' }, { Type: 'tmpfs', Target: '/run/t', TmpfsOptions: { SizeBytes: 2 ** 20 } }],
      Tmpfs: { '/tmp': 'size=1m' },
    };
    const ensured = await ensurePlanVolumes(await plan(hc, { '/var/lib/x': {}, '/data': {} }), volumes);
    expect(ensured.points.map((m) => `${m.Type}:${m.Destination}`)).toEqual([
      'bind:/data', 'volume:/scratch', 'tmpfs:/tmp', 'volume:/data/cache', 'tmpfs:/run/t', 'volume:/var/lib/x',
    ]);
    const named = ensured.points.find((m) => m.Destination === '/data/cache');
    expect(named).toMatchObject({ Name: 'named', Source: join(root, 'data', 'volumes', 'named', '_data'), RW: false, Mode: 'ro' });
    expect(ensured.created).toHaveLength(2); // /scratch and the Config.Volumes one; /data was bound
    expect(volumeNames()).toEqual([...ensured.created, 'named'].sort());

    const c = { Id: 'c1', Name: 'c1', MountPoints: ensured.points } as unknown as ContainerRecord;
    expect(anonymousVolumes(c).sort()).toEqual([...ensured.created].sort());
    // What the helper gets: volumes by their host path, the user's /etc/hosts replacing berthd's.
    const paths = new Map(ensured.points.flatMap((m) => (m.Name ? [[m.Name, `/v/${m.Name}`] as const] : [])));
    const specs = mountSpecs(ensured.points, paths, [{ source: '/own/hosts', destination: '/etc/hosts', type: 'bind', options: ['rbind'] }]);
    expect(specs.map((s) => s.destination)).toEqual(['/data', '/scratch', '/tmp', '/data/cache', '/etc/hosts', '/run/t', '/var/lib/x']);
    expect(specs.find((s) => s.destination === '/data/cache')).toEqual({ source: '/v/named', destination: '/data/cache', type: 'bind', options: ['rbind', 'ro', 'rprivate'] });
    expect(specs.find((s) => s.destination === '/tmp')).toEqual({ source: 'tmpfs', destination: '/tmp', type: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate', 'size=1m'] });
  });

  it('lets -v replace a --volumes-from mount, and refuses an unknown source container', async () => {
    containers.push({
      Id: 'src', Name: 'src',
      MountPoints: [{ Type: 'volume', Name: 'shared', Source: '/s', Destination: '/shared', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
        { Type: 'volume', Name: 'other', Source: '/o', Destination: '/other', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }],
    } as unknown as ContainerRecord);
    const p = await plan({ VolumesFrom: ['src:ro'], Binds: [`${join(root, 'host')}:/other`] });
    expect(p.mounts.map((m) => [m.point.Destination, m.point.Type, m.point.RW])).toEqual([['/shared', 'volume', false], ['/other', 'bind', true]]);
    expect(await refusal(plan({ VolumesFrom: ['nope'] }))).toBe('No such container: nope');
  });

  it('refuses duplicates and missing bind sources before making anything', async () => {
    expect(await refusal(plan({ Binds: ['v1:/x', '/h:/x/'] }))).toBe('Duplicate mount point: /x');
    expect(await refusal(plan({ Binds: ['v1:/x'], Tmpfs: { '/x': '' } }))).toBe('Duplicate mount point: /x');
    expect(await refusal(plan({ Binds: ['v1:/x'], Mounts: [{ Type: 'volume', Target: '/x/' }] }))).toBe('Duplicate mount point: /x/');
    const missing = join(root, 'nope');
    expect(await refusal(plan({ Binds: ['v1:/a'], Mounts: [{ Type: 'bind', Source: missing, Target: '/b' }] }))).toBe(
      `invalid mount config for type "bind": bind source path does not exist: ${missing}`,
    );
    expect(await refusal(plan({ Binds: ['v1:/a'], Tmpfs: { '/t': 'size=1m,nope' } }))).toBe('invalid tmpfs option "nope"');
    expect(await refusal(plan({ Binds: ['/h:/x\tb'] }))).toMatch(/^invalid mount destination/);
    expect(volumeNames()).toEqual([]);
  });

  it('removes the anonymous volumes it made when a later volume fails', async () => {
    // A file where the named volume's directory would go: its creation fails.
    writeFileSync(join(root, 'data', 'volumes', 'blocked'), '');
    const p = await plan({ Mounts: [{ Type: 'volume', Target: '/a' }, { Type: 'volume', Source: 'blocked', Target: '/b' }] });
    await expect(ensurePlanVolumes(p, volumes)).rejects.toThrow();
    // The anonymous volume for /a was made first, and is gone again.
    expect(volumeNames().filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual([]);
  });
});
