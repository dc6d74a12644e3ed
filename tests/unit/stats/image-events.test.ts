import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../../runtime-agent/src/events/bus.js';
import { createImageService, type ImageService } from '../../../runtime-agent/src/images/index.js';
import { log } from '../../../runtime-agent/src/log.js';
import { DataLayout } from '../../../runtime-agent/src/store/layout.js';
import { buildTar, testAddon } from '../images/fixtures.js';

log.setQuiet(true);

describe('image events', () => {
  let dir: string;
  let images: ImageService;
  let bus: EventBus;
  const seen = (): string[] => bus.past().map((e) => `${e.Action} ${e.Actor.Attributes.name ?? ''}${e.Actor.Attributes.maintainer ? ` maintainer=${e.Actor.Attributes.maintainer}` : ''}`);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-image-events-'));
    bus = new EventBus();
    const users = { containersUsing: () => [], isRunning: () => false };
    images = createImageService({ layout: new DataLayout(join(dir, 'data'), join(dir, 'exec')), addon: testAddon(), users, events: bus });
    await images.init();
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function importImage(repo: string, changes: string[] = []): Promise<string> {
    const tarball = await buildTar([{ name: 'file', data: repo }]);
    return images.import(Readable.from([tarball]), { src: '-', repo, tag: '', message: '', changes, platform: '' });
  }

  it('import (tagged), tag, untag and delete carry the image ID, its labels and the name', async () => {
    const id = await importImage('app:1', ['LABEL maintainer=me']);
    await images.tag('app:1', 'app', '2');
    await images.remove('app:2', { force: false, noprune: false });
    await images.remove('app:1', { force: false, noprune: false });
    expect(seen()).toEqual([
      'tag app:1 maintainer=me',
      `import ${id} maintainer=me`,
      'tag app:2 maintainer=me',
      'untag app:2 maintainer=me',
      'untag app:1 maintainer=me',
      `delete ${id}`,
    ]);
    for (const e of bus.past()) {
      expect(e).toMatchObject({ Type: 'image', Actor: { ID: id }, status: e.Action, id, scope: 'local' });
    }
  });

  it('save and load, one event per image; prune reports what it reclaimed', async () => {
    const id = await importImage('saved:1');
    const archive: Buffer[] = [];
    const out = new PassThrough();
    out.on('data', (c: Buffer) => archive.push(c));
    await images.writeSave(images.planSave(['saved:1']), out);
    await images.remove('saved:1', { force: false, noprune: false });
    await images.load(Readable.from([Buffer.concat(archive)]), true, { progress: () => undefined, line: () => undefined });
    await images.prune({ danglingOnly: false });
    const actions = bus.past().map((e) => `${e.Action} ${e.Actor.ID === id ? 'ID' : e.Actor.ID}`);
    expect(actions).toEqual(['tag ID', 'import ID', 'save ID', 'untag ID', 'delete ID', 'load ID', 'untag ID', 'delete ID', 'prune ']);
    expect(bus.past().at(-1)?.Actor.Attributes.reclaimed).toMatch(/^\d+$/);
  });
});
