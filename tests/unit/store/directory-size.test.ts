import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directorySize } from '../../../runtime-agent/src/store/directory-size.js';

describe('directorySize', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-size-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('adds file bytes in nested folders, counting hardlinks once and symlinks as their own size', async () => {
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await writeFile(join(dir, 'one'), Buffer.alloc(1000));
    await writeFile(join(dir, 'a', 'b', 'two'), Buffer.alloc(2500));
    await link(join(dir, 'a', 'b', 'two'), join(dir, 'a', 'two-again'));
    const outside = await mkdtemp(join(tmpdir(), 'berth-size-outside-'));
    try {
      await writeFile(join(outside, 'big'), Buffer.alloc(100_000));
      await symlink(join(outside, 'big'), join(dir, 'link')); // not followed
      const linkSize = join(outside, 'big').length;
      expect(await directorySize(dir)).toBe(1000 + 2500 + linkSize);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('is 0 for an empty or missing directory', async () => {
    expect(await directorySize(dir)).toBe(0);
    expect(await directorySize(join(dir, 'missing'))).toBe(0);
  });
});
