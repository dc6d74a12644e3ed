import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errnoCode } from '../../../runtime-agent/src/errors.js';
import { CgroupFileCache } from '../../../runtime-agent/src/stats/cgroup-files.js';

describe('the samplers\' cgroup file cache', () => {
  let dir: string;
  let cache: CgroupFileCache;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cgfiles-'));
    cache = new CgroupFileCache(undefined, 3);
  });

  afterEach(async () => {
    cache.closeAll();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a file open and re-reads it from the start', async () => {
    const file = join(dir, 'memory.current');
    await writeFile(file, '4096\n');
    expect(await cache.readFile(file)).toBe('4096\n');
    expect(cache.open).toBe(1);
    await writeFile(file, '8192\n'); // same inode, rewritten in place
    expect(await cache.readFile(file)).toBe('8192\n');
    expect(cache.open).toBe(1);
  });

  it('reads files larger than its buffer whole', async () => {
    const file = join(dir, 'memory.stat');
    const big = 'x'.repeat(200_000) + '\n';
    await writeFile(file, big);
    expect(await cache.readFile(file)).toBe(big);
  });

  it('reports a missing file as ENOENT, as the drivers expect', async () => {
    const err = await cache.readFile(join(dir, 'absent')).catch((e: unknown) => e);
    expect(errnoCode(err)).toBe('ENOENT');
    expect(cache.open).toBe(0);
  });

  it('holds at most maxOpen files and closes the ones retain rejects', async () => {
    for (const name of ['a/x', 'a/y', 'b/x', 'b/y']) {
      const file = join(dir, name.replace('/', '-'));
      await writeFile(file, name);
      expect(await cache.readFile(file)).toBe(name);
    }
    expect(cache.open).toBe(3);
    cache.retain((path) => !path.includes('/a-'));
    expect(cache.open).toBe(1);
  });
});
