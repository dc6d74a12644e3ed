import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerRecord } from '../../../runtime-agent/src/containers/model.js';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { EventBus, type EngineEvent } from '../../../runtime-agent/src/events/bus.js';
import { log } from '../../../runtime-agent/src/log.js';
import { loadAddon } from '../../../runtime-agent/src/native/addon.js';
import { DataLayout } from '../../../runtime-agent/src/store/layout.js';
import { ANONYMOUS_LABEL } from '../../../runtime-agent/src/volumes/model.js';
import { VolumeService } from '../../../runtime-agent/src/volumes/service.js';

log.setQuiet(true);

/** The service over a temp data root; "containers" are the IDs that use each volume. */
interface Fixture {
  readonly volumes: VolumeService;
  readonly events: EngineEvent[];
  readonly users: Map<string, string[]>;
  readonly layout: DataLayout;
}

let root: string;

async function open(): Promise<Fixture> {
  const layout = new DataLayout(join(root, 'data'), join(root, 'exec'));
  const bus = new EventBus();
  const events: EngineEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const users = new Map<string, string[]>();
  const volumes = new VolumeService({
    layout,
    addon: loadAddon(),
    events: bus,
    users: { containersUsing: (name) => (users.get(name) ?? []).map((Id) => ({ Id, State: { Running: false } }) as unknown as ContainerRecord) },
  });
  await volumes.init();
  return { volumes, events, users, layout };
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string } | undefined> {
  try {
    await p;
  } catch (err) {
    return isBerthError(err) ? { code: err.code, message: err.message } : { code: 'not a BerthError', message: String(err) };
  }
  return undefined;
}

const filters = (entries: Record<string, string[]> = {}): Map<string, string[]> => new Map(Object.entries(entries));

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-volumes-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('VolumeService', () => {
  it('creates a named volume with Docker\'s inspect shape and a create event', async () => {
    const { volumes, events, layout } = await open();
    const v = await volumes.create({ Name: 'data', Labels: { team: 'web' } });
    expect(v).toEqual({
      CreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/),
      Driver: 'local',
      Labels: { team: 'web' },
      Mountpoint: join(layout.volume('data'), '_data'),
      Name: 'data',
      Options: null,
      Scope: 'local',
    });
    expect((await stat(v.Mountpoint)).mode & 0o7777).toBe(0o755);
    expect(events.map((e) => [e.Type, e.Action, e.Actor.ID, e.Actor.Attributes.driver])).toEqual([['volume', 'create', 'data', 'local']]);
    expect(volumes.inspect('data')).toEqual(v);
  });

  it('is idempotent by name, but refuses contradicting options (409) and other drivers (400)', async () => {
    const { volumes, events } = await open();
    const first = await volumes.create({ Name: 'scratch', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
    expect(first.Options).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
    expect(await volumes.create({ Name: 'scratch' })).toEqual(first);
    expect(await volumes.create({ Name: 'scratch', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } })).toEqual(first);
    expect(await failure(volumes.create({ Name: 'scratch', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=2m' } }))).toMatchObject({ code: 'conflict' });
    expect(await failure(volumes.create({ Name: 'other', Driver: 'nfs-plugin' }))).toMatchObject({ code: 'invalid-parameter', message: expect.stringContaining('nfs-plugin') });
    expect(await failure(volumes.create({ Name: 'a' }))).toMatchObject({ code: 'invalid-parameter' });
    expect(await failure(volumes.create({ Name: 'ok', Labels: { n: 1 } as unknown as Record<string, string> }))).toMatchObject({ code: 'invalid-parameter' });
    expect(events.filter((e) => e.Action === 'create')).toHaveLength(1);
    expect(volumes.list(filters()).map((v) => v.Name)).toEqual(['scratch']);
  });

  it('makes an anonymous volume when the name is empty, and ensure() reuses named ones', async () => {
    const { volumes } = await open();
    const anon = await volumes.create({});
    expect(anon.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(anon.Labels).toEqual({ [ANONYMOUS_LABEL]: '' });
    const ensured = await volumes.ensure('cache');
    expect(ensured).toEqual({ name: 'cache', mountpoint: volumes.inspect('cache').Mountpoint, driver: 'local' });
    expect(await volumes.ensure('cache')).toEqual(ensured);
    const fresh = await volumes.ensure(undefined);
    expect(fresh.name).toMatch(/^[0-9a-f]{64}$/);
    expect(volumes.inspect(fresh.name).Labels).toEqual({ [ANONYMOUS_LABEL]: '' });
  });

  it('ensure() applies --mount volume options only to a volume it makes', async () => {
    const { volumes } = await open();
    await volumes.ensure('labelled', { labels: { via: 'mount' }, driverOptions: { type: 'tmpfs', device: 'tmpfs' } });
    expect(volumes.inspect('labelled')).toMatchObject({ Labels: { via: 'mount' }, Options: { type: 'tmpfs', device: 'tmpfs' } });
    // An existing volume comes back as it is, whatever the mount asks for (Docker's).
    await volumes.ensure('labelled', { labels: { other: 'x' }, driverOptions: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
    expect(volumes.inspect('labelled')).toMatchObject({ Labels: { via: 'mount' }, Options: { type: 'tmpfs', device: 'tmpfs' } });
    const anon = await volumes.ensure(undefined, { labels: { via: 'anon' } });
    expect(volumes.inspect(anon.name).Labels).toEqual({ via: 'anon', [ANONYMOUS_LABEL]: '' });
    expect(await failure(volumes.ensure('bad/name'))).toMatchObject({ code: 'invalid-parameter' });
    expect(await failure(volumes.ensure('opts', { driverOptions: { colour: 'red' } }))).toMatchObject({ code: 'invalid-parameter' });
    expect(volumes.list(filters()).map((v) => v.Name)).not.toContain('opts');
  });

  it('refuses to remove a volume in use, even with force; force only forgives a missing one', async () => {
    const { volumes, users, events } = await open();
    await volumes.create({ Name: 'busy' });
    users.set('busy', ['c1'.repeat(32), 'c2'.repeat(32)]);
    expect(await failure(volumes.remove('busy', false))).toEqual({ code: 'conflict', message: `remove busy: volume is in use - [${'c1'.repeat(32)}, ${'c2'.repeat(32)}]` });
    expect(await failure(volumes.remove('busy', true))).toMatchObject({ code: 'conflict' });
    expect(await failure(volumes.remove('nope', false))).toEqual({ code: 'not-found', message: 'get nope: no such volume' });
    expect(await failure(volumes.remove('nope', true))).toBeUndefined();
    users.delete('busy');
    await volumes.remove('busy', false);
    expect(await failure(Promise.resolve().then(() => volumes.inspect('busy')))).toMatchObject({ code: 'not-found' });
    expect(events.map((e) => e.Action)).toEqual(['create', 'destroy']);
  });

  it('prunes unused anonymous volumes by default, named ones with all=true, and measures them', async () => {
    const { volumes, users, events } = await open();
    const anonUnused = await volumes.create({});
    const anonUsed = await volumes.create({});
    await volumes.create({ Name: 'named', Labels: { keep: 'no' } });
    await volumes.create({ Name: 'kept', Labels: { keep: 'yes' } });
    await volumes.create({ Name: 'tmp', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    users.set(anonUsed.Name, ['c'.repeat(64)]);
    await writeFile(join(anonUnused.Mountpoint, 'f'), Buffer.alloc(4096));

    expect(await volumes.prune(filters())).toEqual({ VolumesDeleted: [anonUnused.Name], SpaceReclaimed: 4096 });
    expect(await volumes.prune(filters({ all: ['true'], 'label!': ['keep=yes'] }))).toEqual({ VolumesDeleted: ['named'], SpaceReclaimed: 0 });
    // Option-backed volumes are never pruned (moby): nothing local to reclaim.
    expect(volumes.list(filters()).map((v) => v.Name).sort()).toEqual([anonUsed.Name, 'kept', 'tmp'].sort());
    expect(events.filter((e) => e.Action === 'prune').map((e) => e.Actor.Attributes.reclaimed)).toEqual(['4096', '0']);
  });

  it('lists with dangling, name and label filters', async () => {
    const { volumes, users } = await open();
    await volumes.create({ Name: 'web-data', Labels: { app: 'web' } });
    await volumes.create({ Name: 'db-data', Labels: { app: 'db' } });
    users.set('db-data', ['d'.repeat(64)]);
    const names = (f: Record<string, string[]>): string[] => volumes.list(filters(f)).map((v) => v.Name);
    expect(names({})).toEqual(['db-data', 'web-data']);
    expect(names({ dangling: ['true'] })).toEqual(['web-data']);
    expect(names({ dangling: ['false'] })).toEqual(['db-data']);
    expect(names({ name: ['web'] })).toEqual(['web-data']);
    expect(names({ label: ['app=db'] })).toEqual(['db-data']);
    expect(names({ label: ['app'] })).toEqual(['db-data', 'web-data']);
  });

  it('keeps records across a restart and clears a create cut short', async () => {
    const first = await open();
    await first.volumes.create({ Name: 'persist', Labels: { a: 'b' }, DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
    await writeFile(join(first.volumes.inspect('persist').Mountpoint, 'hello'), 'world');
    await mkdir(join(first.layout.volume('halfmade'), '_data'), { recursive: true });
    const before = first.volumes.inspect('persist');

    const second = await open();
    expect(second.volumes.inspect('persist')).toEqual(before);
    expect(await readFile(join(before.Mountpoint, 'hello'), 'utf8')).toBe('world');
    expect(await failure(stat(second.layout.volume('halfmade')))).toMatchObject({ code: 'not a BerthError' });
    expect(second.volumes.list(filters()).map((v) => v.Name)).toEqual(['persist']);
  });

  it('removeAnonymous removes unused ones, keeps those another container uses, skips missing ones', async () => {
    const { volumes, users } = await open();
    const a = await volumes.ensure(undefined);
    const b = await volumes.ensure(undefined);
    users.set(b.name, ['e'.repeat(64)]);
    await volumes.removeAnonymous([a.name, b.name, 'f'.repeat(64)]);
    expect(volumes.list(filters()).map((v) => v.Name)).toEqual([b.name]);
  });

  it('mount() of a plain volume returns its _data and says so in a mount event; a gone volume is not-found', async () => {
    const { volumes, events } = await open();
    await volumes.create({ Name: 'plain' });
    const id = '1'.repeat(64);
    expect(await volumes.mount('plain', id)).toBe(volumes.inspect('plain').Mountpoint);
    await volumes.unmount('plain', id);
    expect(events.filter((e) => e.Action === 'mount' || e.Action === 'unmount').map((e) => [e.Action, e.Actor.Attributes.container, e.Actor.Attributes.driver])).toEqual([
      ['mount', id, 'local'],
      ['unmount', id, 'local'],
    ]);
    expect(await failure(volumes.mount('gone', id))).toMatchObject({ code: 'not-found' });
  });

  it('usage() measures plain volumes and counts their users; option-backed ones are left out', async () => {
    const { volumes, users } = await open();
    const v = await volumes.create({ Name: 'sized' });
    await volumes.create({ Name: 'tmp', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    await writeFile(join(v.Mountpoint, 'x'), Buffer.alloc(12345));
    users.set('sized', ['a'.repeat(64), 'b'.repeat(64)]);
    expect(await volumes.usage()).toEqual([{ ...v, UsageData: { Size: 12345, RefCount: 2 } }]);
  });
});
