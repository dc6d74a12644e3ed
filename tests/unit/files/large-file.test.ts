import { closeSync, ftruncateSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { log } from '../../../runtime-agent/src/log.js';
import { fdCountSettles, openFds, sandbox, type Sandbox } from './fixtures.js';

log.setQuiet(true);

const GIB = 1024 ** 3;
const RSS_BUDGET = 64 * 1024 * 1024;

/** Drains a stream, counting bytes and the highest RSS seen above where it started. */
async function drain(stream: Readable): Promise<{ bytes: number; rssGrowth: number }> {
  const start = process.memoryUsage().rss;
  let peak = start;
  let bytes = 0;
  let chunks = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (++chunks % 64 === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  return { bytes, rssGrowth: Math.max(peak, process.memoryUsage().rss) - start };
}

describe('a 1 GiB (sparse) file', () => {
  let box: Sandbox;

  beforeAll(async () => {
    box = await sandbox('beneath');
    mkdirSync(join(box.root, 'big'));
    const fd = openSync(join(box.root, 'big/huge.bin'), 'w');
    ftruncateSync(fd, GIB);
    closeSync(fd);
  });
  afterAll(() => box.cleanup());

  it('streams through read() with memory staying flat', async () => {
    const fds = openFds();
    const { info, stream } = await box.tree.read('big/huge.bin');
    expect(info.size).toBe(GIB);
    const { bytes, rssGrowth } = await drain(stream);
    expect(bytes).toBe(GIB);
    expect(rssGrowth).toBeLessThan(RSS_BUDGET);
    expect(await fdCountSettles(fds)).toBe(fds);
  }, 120_000);

  it('streams through pack() with memory staying flat', async () => {
    const fds = openFds();
    const { bytes, rssGrowth } = await drain(box.tree.pack('big'));
    expect(bytes).toBeGreaterThan(GIB);
    expect(bytes % 512).toBe(0);
    expect(rssGrowth).toBeLessThan(RSS_BUDGET);
    expect(await fdCountSettles(fds)).toBe(fds);
  }, 120_000);
});
