import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpCall } from '../support/berth-http.js';
import { BuildContexts, classicBuild } from '../support/build-context.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// The classic builder's cache: an unchanged rebuild makes no new layer and keeps the image
// ID; a change to a copied file rebuilds from that step on; --no-cache; intermediate images
// hidden from `docker images`; rmi of a final image; `docker builder prune` (-a, until).

const DOCKERFILE = [
  `FROM ${TEST_IMAGE}`,
  'ENV STAGE=cache',
  'WORKDIR /app',
  'COPY first.txt ./',
  'RUN cat first.txt > combined',
  'COPY second.txt ./',
  'RUN cat second.txt >> combined',
  'LABEL purpose=cache-test',
  'EXPOSE 8080',
  'CMD ["cat", "/app/combined"]',
  '',
].join('\n');

/** Each step of a classic build's output: its instruction and whether the cache served it. */
function steps(out: string): { step: string; cached: boolean }[] {
  return out
    .split(/^Step \d+\/\d+ : /m)
    .slice(1)
    .map((chunk) => ({ step: chunk.split('\n', 1)[0] as string, cached: chunk.includes(' ---> Using cache') }));
}

describe('the build cache', () => {
  const daemon = useDaemon({ image: 'oci' });
  const contexts = new BuildContexts();
  const tags = new Set<string>();

  const docker = async (args: string[]): Promise<string> => {
    const r = await daemon().docker(args);
    expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout.trim();
  };
  const build = async (args: string[]): Promise<string> => {
    const r = await classicBuild(daemon(), args);
    expect(r.code, `docker build ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`).toBe(0);
    for (let i = 0; i < args.length; i++) if (args[i] === '-t') tags.add(args[i + 1] as string);
    return r.stdout;
  };
  const idOf = (image: string): Promise<string> => docker(['image', 'inspect', '--format', '{{.Id}}', image]);
  const layerDirs = async (): Promise<string[]> => (await readdir(join(daemon().dataRoot, 'layers'))).sort();
  const prune = async (query: string): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> => {
    const r = await httpCall(daemon().socket, 'POST', `/v1.43/build/prune${query}`);
    expect(r.status, r.text).toBe(200);
    return r.json();
  };

  afterAll(async () => {
    if (tags.size > 0) await daemon().docker(['rmi', '-f', ...tags]);
    await contexts.cleanup();
  });

  it('an unchanged rebuild uses the cache for every step: same image ID, no new layer', async () => {
    const dir = await contexts.dir({ Dockerfile: DOCKERFILE, 'first.txt': 'one\n', 'second.txt': 'two\n' });
    const first = await build(['-t', 'berth.test/cache:a', dir]);
    expect(steps(first).filter((s) => s.cached)).toEqual([]);
    const id = await idOf('berth.test/cache:a');
    const layers = await layerDirs();
    const all = await docker(['images', '-a', '-q', '--no-trunc']);

    const second = await build(['-t', 'berth.test/cache:a', dir]);
    expect(steps(second).map((s) => s.cached)).toEqual([false, true, true, true, true, true, true, true, true, true]);
    expect(await idOf('berth.test/cache:a')).toBe(id);
    expect(await layerDirs()).toEqual(layers);
    expect(await docker(['images', '-a', '-q', '--no-trunc'])).toBe(all);
    expect(await docker(['run', '--rm', '--network', 'none', 'berth.test/cache:a'])).toBe('one\ntwo');

    // Intermediate images are kept as the cache, hidden from `docker images` without -a.
    const visible = (await docker(['images', '-q', '--no-trunc'])).split('\n');
    const every = all.split('\n');
    expect(every.length).toBeGreaterThan(visible.length + 7);
    expect(visible).toContain(id);
  });

  it('a change to a copied file rebuilds from that step on, and only from there', async () => {
    const dir = await contexts.dir({ Dockerfile: DOCKERFILE, 'first.txt': 'one\n', 'second.txt': 'two\n' });
    await build(['-t', 'berth.test/cache:b', dir]);
    const before = await idOf('berth.test/cache:b');
    await writeFile(join(dir, 'second.txt'), 'TWO\n');
    const out = await build(['-t', 'berth.test/cache:b', dir]);
    expect(steps(out).map((s) => `${s.cached ? 'cached' : 'built'} ${s.step}`)).toEqual([
      `built FROM ${TEST_IMAGE}`,
      'cached ENV STAGE=cache',
      'cached WORKDIR /app',
      'cached COPY first.txt ./',
      'cached RUN cat first.txt > combined',
      'built COPY second.txt ./',
      'built RUN cat second.txt >> combined',
      'built LABEL purpose=cache-test',
      'built EXPOSE 8080',
      'built CMD ["cat", "/app/combined"]',
    ]);
    expect(await idOf('berth.test/cache:b')).not.toBe(before);
    expect(await docker(['run', '--rm', '--network', 'none', 'berth.test/cache:b'])).toBe('one\nTWO');
    // Changing it back finds the first version's steps again.
    await writeFile(join(dir, 'second.txt'), 'two\n');
    const back = await build(['-t', 'berth.test/cache:b', dir]);
    expect(steps(back).every((s) => s.cached || s.step.startsWith('FROM'))).toBe(true);
    expect(await idOf('berth.test/cache:b')).toBe(before);
  });

  it('--no-cache rebuilds every step', async () => {
    const dir = await contexts.dir({ Dockerfile: DOCKERFILE, 'first.txt': 'one\n', 'second.txt': 'two\n' });
    await build(['-t', 'berth.test/cache:c', dir]);
    const cachedId = await idOf('berth.test/cache:c');
    const out = await build(['--no-cache', '-t', 'berth.test/cache:nocache', dir]);
    expect(out).not.toContain('Using cache');
    expect(await idOf('berth.test/cache:nocache')).not.toBe(cachedId);
  });

  it('removing a final image does not break later builds', async () => {
    const dir = await contexts.dir({ Dockerfile: `FROM ${TEST_IMAGE}\nRUN echo gone > /gone\nENV X=1\n` });
    await build(['-t', 'berth.test/cache:removed', dir]);
    await docker(['rmi', 'berth.test/cache:removed']);
    tags.delete('berth.test/cache:removed');
    const out = await build(['-t', 'berth.test/cache:removed', dir]);
    expect(steps(out).map((s) => s.cached)).toEqual([false, false, false]);
    expect(await docker(['run', '--rm', '--network', 'none', 'berth.test/cache:removed', 'cat', '/gone'])).toBe('gone');
    expect(steps(await build(['-t', 'berth.test/cache:removed', dir])).map((s) => s.cached)).toEqual([false, true, true]);
  });

  it('docker builder prune removes the cache no tagged image uses; -a removes all of it', async () => {
    const dir = await contexts.dir({ Dockerfile: `FROM ${TEST_IMAGE}\nCOPY data.bin /data.bin\nRUN echo kept > /kept\n`, 'data.bin': Buffer.alloc(64 * 1024, 7) });
    await build(['-t', 'berth.test/prune:kept', dir]);
    const orphan = await contexts.dir({ Dockerfile: `FROM ${TEST_IMAGE}\nCOPY big.bin /big.bin\nENV ORPHAN=1\n`, 'big.bin': Buffer.alloc(256 * 1024, 9) });
    await build(['-t', 'berth.test/prune:orphan', orphan]);
    // The final image goes with its tag; --no-prune leaves its parents: cache no tagged image uses.
    const copyStep = await docker(['image', 'inspect', '--format', '{{.Parent}}', 'berth.test/prune:orphan']);
    expect(copyStep).toMatch(/^sha256:/);
    await docker(['rmi', '--no-prune', 'berth.test/prune:orphan']);
    tags.delete('berth.test/prune:orphan');

    const byLabel = await prune(`?filters=${encodeURIComponent(JSON.stringify({ label: ['no.such.label=1'] }))}`);
    expect(byLabel).toEqual({ CachesDeleted: [], SpaceReclaimed: 0 });
    const report = await prune('');
    expect(report.CachesDeleted).toContain(copyStep);
    expect(report.SpaceReclaimed).toBeGreaterThanOrEqual(256 * 1024);
    for (const id of report.CachesDeleted) expect((await daemon().docker(['image', 'inspect', id])).code).toBe(1);
    // The tagged image's cache stays.
    expect(steps(await build(['-t', 'berth.test/prune:kept', dir])).map((s) => s.cached)).toEqual([false, true, true]);
    expect(await prune('')).toEqual({ CachesDeleted: [], SpaceReclaimed: 0 });

    const until = await prune(`?all=1&filters=${encodeURIComponent(JSON.stringify({ until: ['1h'] }))}`);
    expect(until).toEqual({ CachesDeleted: [], SpaceReclaimed: 0 });

    const cli = await daemon().docker(['builder', 'prune', '-a', '-f']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('Total reclaimed space: 0B'); // the tagged image keeps its layers
    expect(steps(await build(['-t', 'berth.test/prune:kept', dir])).map((s) => s.cached)).toEqual([false, false, false]);
    expect(await docker(['run', '--rm', '--network', 'none', 'berth.test/prune:kept', 'cat', '/kept'])).toBe('kept');
  });
});
