import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImageService } from '../../../runtime-agent/src/images/index.js';
import { log } from '../../../runtime-agent/src/log.js';
import { buildTar, testRoot, type TestRoot } from './fixtures.js';

log.setQuiet(true);

let root: TestRoot;
beforeEach(async () => {
  root = await testRoot();
});
afterEach(() => root.cleanup());

async function restart(): Promise<ReturnType<typeof createImageService>> {
  const images = createImageService({ layout: root.layout, addon: root.addon, users: root.users });
  await images.init();
  return images;
}

describe('the image store on disk', () => {
  it('finds every image, tag and layer again after a restart', async () => {
    const tarball = await buildTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/os-release', data: 'ID=berth\n' }]);
    const id = await root.images.import(Readable.from([tarball]), { src: '-', repo: 'persisted:1', tag: '', message: '', changes: ['CMD ["sh"]'], platform: '' });
    await root.images.tag(id, 'localhost:5000/persisted', 'x');
    const again = await restart();
    const image = await again.resolve('localhost:5000/persisted:x');
    expect(image.id).toBe(id);
    expect(image.repoTags).toEqual(['persisted:1', 'localhost:5000/persisted:x']); // sorted by full name, as Docker does
    expect(image.config.Cmd).toEqual(['sh']);
    expect(await readFile(join(image.layers[0]?.dir ?? '', 'etc/os-release'), 'utf8')).toBe('ID=berth\n');
    const repositories = JSON.parse(await readFile(join(root.layout.imagesDir, 'repositories.json'), 'utf8')) as Record<string, unknown>;
    expect(repositories).toEqual({
      Repositories: {
        'docker.io/library/persisted': { 'docker.io/library/persisted:1': id },
        'localhost:5000/persisted': { 'localhost:5000/persisted:x': id },
      },
    });
  });

  it('cleans up after a crash: tmp/, half-made layers, blobs nothing names', async () => {
    const tarball = await buildTar([{ name: 'kept', data: 'k' }]);
    const id = await root.images.import(Readable.from([tarball]), { src: '-', repo: 'kept', tag: '', message: '', changes: [], platform: '' });
    await writeFile(join(root.layout.tmpDir, 'archive-dead.tar'), 'partial');
    await mkdir(join(root.layout.tmpDir, 'layer-dead', 'diff'), { recursive: true });
    await mkdir(join(root.layout.layersDir, 'f'.repeat(64), 'diff'), { recursive: true }); // no layer.json
    const orphan = await buildTar([{ name: 'orphan', data: 'o' }]);
    const { digest } = await root.images.store.content.writeBytes(orphan);
    const layer = await root.images.store.layers.register(digest, ''); // unpacked, never recorded
    const again = await restart();
    expect(await readdir(root.layout.tmpDir)).toEqual([]);
    expect((await readdir(root.layout.layersDir)).sort()).toEqual([(await again.resolve('kept')).layers[0]?.chainId.slice(7)]);
    expect(await again.store.content.has(digest)).toBe(false);
    expect(again.store.layers.get(layer.chainId)).toBeUndefined();
    expect((await again.resolve('kept')).id).toBe(id);
  });
});
