import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hexOf, shortId, type Digest } from '../../../runtime-agent/src/images/digest.js';
import { log } from '../../../runtime-agent/src/log.js';
import { buildTar, imageConfig, sha256Of, testRoot, type TestRoot } from './fixtures.js';

log.setQuiet(true);

let root: TestRoot;
beforeEach(async () => {
  root = await testRoot();
});
afterEach(() => root.cleanup());

async function importImage(content: string, repo = '', changes: string[] = []): Promise<Digest> {
  const tarball = await buildTar([{ name: 'file', data: content }]);
  return (await root.images.import(Readable.from([tarball]), { src: '-', repo, tag: '', message: '', changes, platform: '' })) as Digest;
}

const tag = (name: string, repo: string, t = ''): Promise<void> => root.images.tag(name, repo, t);
const rmi = (name: string, force = false, noprune = false): ReturnType<typeof root.images.remove> => root.images.remove(name, { force, noprune });

describe('image resolution', () => {
  it('finds images by name, full ID, sha256: prefix and unique short prefix', async () => {
    const id = await importImage('one', 'one');
    await importImage('two', 'two');
    expect((await root.images.resolve('one')).id).toBe(id);
    expect((await root.images.resolve('docker.io/library/one:latest')).id).toBe(id);
    expect((await root.images.resolve(id)).id).toBe(id);
    expect((await root.images.resolve(hexOf(id))).id).toBe(id);
    expect((await root.images.resolve(`sha256:${hexOf(id).slice(0, 5)}`)).id).toBe(id);
    expect((await root.images.resolve(hexOf(id).slice(0, 12))).id).toBe(id);
    await expect(root.images.resolve('nope')).rejects.toMatchObject({ code: 'not-found', message: 'No such image: nope:latest' });
    await expect(root.images.resolve('Nope')).rejects.toMatchObject({ code: 'invalid-parameter' });
    expect(await root.images.byId('sha256:nope')).toBeUndefined();
  });
});

describe('docker rmi', () => {
  it('untags by name and deletes with the last reference', async () => {
    const id = await importImage('x', 'a:1');
    await tag('a:1', 'a', '2');
    await tag(id, 'b');
    expect(await rmi('a:1')).toEqual([{ Untagged: 'a:1' }]);
    await expect(rmi(hexOf(id).slice(0, 4))).rejects.toMatchObject({
      code: 'conflict',
      message: `conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`,
    });
    expect(await rmi('b')).toEqual([{ Untagged: 'b:latest' }]);
    const chain = (await root.images.resolve(id)).layers[0]?.chainId as string;
    expect(await rmi(id)).toEqual([{ Untagged: 'a:2' }, { Deleted: id }, { Deleted: chain }]);
    expect(root.images.count()).toBe(0);
    expect(await readdir(root.layout.layersDir)).toEqual([]);
    expect(await readdir(root.layout.blobsDir)).toEqual([]);
    await expect(rmi('a:2')).rejects.toMatchObject({ code: 'not-found', message: 'No such image: a:2' });
  });

  it('takes a name over an ID prefix that spells the same', async () => {
    const id = await importImage('y', 'keep:1');
    const first = hexOf(id).slice(0, 1); // a valid repository name, and a prefix of the ID
    await tag(id, first);
    expect(await rmi(first)).toEqual([{ Untagged: `${first}:latest` }]);
    expect((await root.images.resolve('keep:1')).id).toBe(id);
  });

  it('removes every tag with -f on an ID', async () => {
    const id = await importImage('x', 'a');
    await tag(id, 'b');
    const items = await rmi(shortId(id), true);
    expect(items.slice(0, 3)).toEqual([{ Untagged: 'a:latest' }, { Untagged: 'b:latest' }, { Deleted: id }]);
  });

  it('keeps layers other images still use', async () => {
    const base = await buildTar([{ name: 'base', data: 'b' }]);
    const top = await buildTar([{ name: 'top', data: 't' }]);
    const load = async (layers: Buffer[], name: string): Promise<void> => {
      const config = imageConfig(layers, { comment: name });
      const hex = sha256Of(config).slice(7);
      const archive = await buildTar([
        { name: `${hex}.json`, data: config },
        ...layers.map((l, i) => ({ name: `${i}.tar`, data: l })),
        { name: 'manifest.json', data: JSON.stringify([{ Config: `${hex}.json`, RepoTags: [name], Layers: layers.map((_, i) => `${i}.tar`) }]) },
      ]);
      await root.images.load(Readable.from([archive]), true, { line: () => undefined, progress: () => undefined });
    };
    await load([base], 'small:1');
    await load([base, top], 'big:1');
    const big = await rmi('big:1');
    expect(big.filter((i) => i.Deleted !== undefined)).toHaveLength(2); // image + top layer
    const small = await root.images.resolve('small:1');
    expect(existsSync(small.layers[0]?.dir ?? '/nonexistent')).toBe(true);
  });

  it('refuses images containers use unless forced, as Docker words it', async () => {
    const id = await importImage('x', 'used');
    root.users.using.set(id, ['c0ffee00112233445566']);
    await expect(rmi('used')).rejects.toMatchObject({
      code: 'conflict',
      message: `conflict: unable to remove repository reference "used" (must force) - container c0ffee001122 is using its referenced image ${shortId(id)}`,
    });
    await expect(rmi(id)).rejects.toThrow(`conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container c0ffee001122`);
    root.users.running.add('c0ffee00112233445566');
    await expect(rmi(id, true)).rejects.toThrow(`conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by running container c0ffee001122`);
    // -f by name on a running container's image: untagged, kept (dangling)
    expect(await rmi('used', true)).toEqual([{ Untagged: 'used:latest' }]);
    expect(root.images.count()).toBe(1);
  });

  it('force-deletes an image a stopped container uses, keeping its layers until the container goes', async () => {
    const id = await importImage('x', 'ghost');
    root.users.using.set(id, ['abc']);
    const items = await rmi(id, true);
    expect(items).toEqual([{ Untagged: 'ghost:latest' }, { Deleted: id }]);
    expect(root.images.count()).toBe(0);
    await expect(root.images.resolve(hexOf(id))).rejects.toMatchObject({ code: 'not-found' });
    const kept = await root.images.byId(id);
    expect(kept?.layers[0] && existsSync(kept.layers[0].dir)).toBe(true);
    root.users.using.delete(id);
    const report = await root.images.prune({ danglingOnly: true });
    expect(report.SpaceReclaimed).toBe(1);
    expect(await root.images.byId(id)).toBeUndefined();
    expect(await readdir(root.layout.layersDir)).toEqual([]);
  });
});

describe('docker image prune', () => {
  it('prunes dangling images by default and every unused one with dangling=false', async () => {
    const dangling = await importImage('d');
    const used = await importImage('u');
    const tagged = await importImage('t', 'keep', ['LABEL team=core']);
    root.users.using.set(used, ['c1']);
    const first = await root.images.prune({ danglingOnly: true });
    expect(first.ImagesDeleted?.filter((i) => i.Deleted === dangling)).toHaveLength(1);
    expect(first.SpaceReclaimed).toBe(1);
    expect(root.images.count()).toBe(2);
    expect(await root.images.prune({ danglingOnly: true })).toEqual({ ImagesDeleted: null, SpaceReclaimed: 0 });
    const labelled = await root.images.prune({ danglingOnly: false, labels: (l) => l.team === 'nope' });
    expect(labelled.ImagesDeleted).toBeNull();
    const all = await root.images.prune({ danglingOnly: false });
    expect(all.ImagesDeleted).toEqual(expect.arrayContaining([{ Untagged: 'keep:latest' }, { Deleted: tagged }]));
    expect(root.images.count()).toBe(1);
  });
});

describe('listing, inspect and history', () => {
  async function loadFamily(): Promise<{ parent: Digest; child: Digest }> {
    const base = await buildTar([{ name: 'base', data: 'base' }]);
    const top = await buildTar([{ name: 'top', data: 'top!' }]);
    const parent = imageConfig([base], { created: '2024-01-01T00:00:00Z', config: { Labels: { tier: 'base' } } });
    const child = imageConfig([base, top], { created: '2024-02-01T00:00:00Z', config: { Labels: { tier: 'app' } } });
    const [ph, ch] = [sha256Of(parent).slice(7), sha256Of(child).slice(7)];
    const archive = await buildTar([
      { name: `${ph}.json`, data: parent },
      { name: `${ch}.json`, data: child },
      { name: 'base.tar', data: base },
      { name: 'top.tar', data: top },
      {
        name: 'manifest.json',
        data: JSON.stringify([
          { Config: `${ph}.json`, RepoTags: null, Layers: ['base.tar'] },
          { Config: `${ch}.json`, RepoTags: ['app:1', 'registry.local/team/app:2'], Layers: ['base.tar', 'top.tar'], Parent: `sha256:${ph}` },
        ]),
      },
    ]);
    await root.images.load(Readable.from([archive]), true, { line: () => undefined, progress: () => undefined });
    return { parent: `sha256:${ph}`, child: `sha256:${ch}` };
  }

  const list = (all: boolean, filters: Record<string, string[]> = {}, apiVersion = '1.43'): Record<string, unknown>[] =>
    root.images.list({ all, filters: new Map(Object.entries(filters)), sharedSize: false, apiVersion });

  it('hides untagged parents unless all, and applies filters', async () => {
    const { parent, child } = await loadFamily();
    const loose = await importImage('loose');
    expect(list(false).map((i) => i.Id)).toEqual([loose, child]);
    expect(list(true).map((i) => i.Id)).toEqual([loose, child, parent]);
    expect(list(false, { dangling: ['true'] }).map((i) => i.Id)).toEqual([loose]);
    expect(list(true, { dangling: ['false'] }).map((i) => i.Id)).toEqual([child]);
    expect(list(false, { reference: ['app'] })).toEqual([expect.objectContaining({ Id: child, RepoTags: ['app:1'] })]);
    expect(list(false, { reference: ['*/team/*'] })).toEqual([expect.objectContaining({ RepoTags: ['registry.local/team/app:2'] })]);
    expect(list(true, { before: ['app:1'] }).map((i) => i.Id)).toEqual([parent]);
    expect(list(true, { since: [hexOf(parent)] }).map((i) => i.Id)).toEqual([loose, child]);
    expect(() => list(false, { dangling: ['maybe'] })).toThrow("Invalid filter 'dangling=maybe'");
    const summary = list(false).find((i) => i.Id === child);
    expect(summary).toMatchObject({ ParentId: parent, Size: 8, VirtualSize: 8, SharedSize: -1, Containers: -1, Labels: { tier: 'app' }, Created: 1706745600 });
    expect(list(true, {}, '1.41').find((i) => i.Id === parent)).toMatchObject({ RepoTags: ['<none>:<none>'], RepoDigests: ['<none>@<none>'] });
    expect(root.images.list({ all: true, filters: new Map(), sharedSize: true, apiVersion: '1.43' }).find((i) => i.Id === child)?.SharedSize).toBe(4);
  });

  it('inspects in the API 1.43 shape and walks parents in history', async () => {
    const { parent, child } = await loadFamily();
    const inspect = root.images.inspect('app:1');
    expect(inspect).toMatchObject({
      Id: child,
      RepoTags: ['app:1', 'registry.local/team/app:2'],
      RepoDigests: [],
      Parent: parent,
      Created: '2024-02-01T00:00:00Z',
      Architecture: 'amd64',
      Os: 'linux',
      Size: 8,
      VirtualSize: 8,
      Config: { Hostname: '', User: '', Env: null, Cmd: null, Labels: { tier: 'app' }, Entrypoint: null, WorkingDir: '' },
      GraphDriver: { Name: 'overlay2' },
      RootFS: { Type: 'layers' },
      Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
    });
    const data = (inspect.GraphDriver as { Data: Record<string, string> }).Data;
    expect(data.UpperDir?.endsWith('/diff')).toBe(true);
    expect(data.LowerDir?.split(':')).toHaveLength(1);
    const history = root.images.history(child);
    expect(history.map((h) => [h.Id, h.Size, h.Tags])).toEqual([
      [child, 4, ['app:1', 'registry.local/team/app:2']],
      [parent, 4, null],
    ]);
    await expect(rmi(parent)).rejects.toThrow(`conflict: unable to delete ${shortId(parent)} (cannot be forced) - image has dependent child images`);
    const removed = await rmi(child, true);
    expect(removed.filter((r) => r.Deleted === parent || r.Deleted === child)).toHaveLength(2);
  });
});
