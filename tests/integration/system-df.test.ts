import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../support/command.js';
import { fixturePath, TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

/**
 * `docker system df` (-v) with real sizes and `docker system prune` (-a, --volumes), through
 * the real CLI and dockerode: 5 MiB written into a volume and into a container's writable
 * layer must show up as such; prune must take exactly the leftovers Docker would.
 */
const daemon = useDaemon({ image: 'oci' });
const FIVE_MIB = 5 * 1024 * 1024;

async function ok(args: readonly string[], input?: Buffer): Promise<string> {
  const r: CommandResult = await daemon().docker(args, input === undefined ? undefined : { input });
  expect(r.code, `docker ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

async function lines(args: readonly string[]): Promise<string[]> {
  return (await ok(args)).split('\n').filter(Boolean).sort();
}

interface DfJson {
  LayersSize: number;
  Images: { Id: string; Containers: number; Size: number; SharedSize: number; RepoTags: string[] }[] | null;
  Containers: { Id: string; SizeRw: number; SizeRootFs: number; Names: string[]; ImageID: string }[] | null;
  Volumes: { Name: string; UsageData: { Size: number; RefCount: number } }[] | null;
  BuildCache: unknown[] | null;
}

/** GET /system/df over the socket with `type` values (dockerode's df() takes none). */
function fetchDf(types: readonly string[]): Promise<DfJson> {
  const modem = (daemon().dockerode as unknown as { modem: { dial(opts: object, cb: (err: unknown, data: unknown) => void): void } }).modem;
  return new Promise((resolve, reject) => {
    modem.dial({ path: '/system/df?', options: { type: types }, method: 'GET', statusCodes: { 200: true, 400: 'bad request', 500: 'server error' } }, (err, data) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(data as DfJson),
    );
  });
}

describe('docker system df', () => {
  it('shows 5 MiB written into a volume and into a container\'s writable layer (CLI, -v, dockerode)', async () => {
    await ok(['volume', 'create', 'fat']);
    // The hardlink must not count twice.
    await ok(['run', '--name', 'writer', '-v', 'fat:/data', TEST_IMAGE, 'sh', '-c', 'dd if=/dev/zero of=/data/blob bs=1M count=5 2>/dev/null && dd if=/dev/zero of=/big bs=1M count=5 2>/dev/null && ln /data/blob /data/blob-link']);

    const df = (await daemon().dockerode.df()) as DfJson;
    const volume = df.Volumes?.find((v) => v.Name === 'fat');
    expect(volume?.UsageData).toEqual({ Size: FIVE_MIB, RefCount: 1 });
    const writer = df.Containers?.find((c) => c.Names.includes('/writer'));
    expect(writer).toBeDefined();
    expect(writer?.SizeRw).toBeGreaterThanOrEqual(FIVE_MIB);
    expect(writer?.SizeRw).toBeLessThan(FIVE_MIB + 64 * 1024);
    const image = df.Images?.find((i) => i.RepoTags.includes(TEST_IMAGE));
    expect(image?.Containers).toBe(1);
    expect(image?.Size).toBeGreaterThan(0);
    expect(writer?.SizeRootFs).toBe((writer?.SizeRw ?? 0) + (image?.Size ?? 0));
    expect(df.LayersSize).toBe(image?.Size);
    expect(df.BuildCache).toEqual([]);

    const summary = await ok(['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}']);
    const rows = new Map(summary.split('\n').map((l) => [l.split('|')[0], l.split('|').slice(1)]));
    expect(rows.get('Local Volumes')).toEqual(['1', '1', '5.243MB', '0B (0%)']);
    expect(rows.get('Containers')?.[0]).toBe('1');
    expect(rows.get('Containers')?.[2]).toBe('5.243MB');
    expect(rows.get('Images')?.slice(0, 2)).toEqual(['1', '1']);
    expect(rows.get('Build Cache')?.[0]).toBe('0');

    const verbose = await ok(['system', 'df', '-v']);
    expect(verbose).toMatch(/^fat\s+1\s+5\.243MB$/m);
    expect(verbose).toMatch(/writer\s*$/m);
    expect(verbose).toMatch(/5\.243MB/);
    await ok(['rm', 'writer']);
    await ok(['volume', 'rm', 'fat']);
  });

  it('answers ?type= with only the parts asked for, and refuses an unknown type', async () => {
    const volumesOnly = await fetchDf(['volume']);
    expect(volumesOnly.Volumes).toEqual([]);
    expect(volumesOnly.Images).toBeNull();
    expect(volumesOnly.Containers).toBeNull();
    expect(volumesOnly.BuildCache).toBeNull();
    expect(volumesOnly.LayersSize).toBe(0);
    const both = await fetchDf(['image', 'container']);
    expect(both.Images?.length).toBe(1);
    expect(both.Containers).toEqual([]);
    expect(both.LayersSize).toBeGreaterThan(0);
    await expect(fetchDf(['nonsense'])).rejects.toMatchObject({ statusCode: 400 });
  });
});

describe('docker system prune', () => {
  /** A stopped container, an unused network, a dangling image, anonymous and named unused volumes. */
  async function leftovers(): Promise<{ stopped: string; dangling: string; anon: string }> {
    const stopped = await ok(['create', '--name', 'stopped', TEST_IMAGE, 'true']);
    await ok(['network', 'create', 'unused-net']);
    const imported = await ok(['import', fixturePath('rootfsTar')]);
    const dangling = imported.replace(/^sha256:/, '');
    const anon = await ok(['volume', 'create']);
    await ok(['volume', 'create', 'named-unused']);
    return { stopped, dangling, anon };
  }

  it('-f removes stopped containers, unused networks and dangling images; volumes and tagged images stay', async () => {
    const { dangling, anon } = await leftovers();
    const out = await ok(['system', 'prune', '-f']);
    expect(out).toContain('Deleted Containers:');
    expect(out).toContain('Deleted Networks:');
    expect(out).toContain('unused-net');
    expect(out).toContain(dangling);
    expect(out).toContain('Total reclaimed space:');
    expect(await lines(['ps', '-aq'])).toEqual([]);
    expect(await lines(['network', 'ls', '--format', '{{.Name}}'])).toEqual(['bridge', 'host', 'none']);
    expect(await lines(['images', '-q', '--no-trunc'])).toHaveLength(1);
    expect(await lines(['volume', 'ls', '-q'])).toEqual([anon, 'named-unused'].sort());
  });

  it('--volumes -f also removes unused anonymous volumes (named ones stay, API >= 1.42)', async () => {
    await ok(['create', '--name', 'holder', '-v', '/held', TEST_IMAGE, 'true']);
    const out = await ok(['system', 'prune', '--volumes', '-f']);
    expect(out).toContain('Deleted Volumes:');
    // The holder was a stopped container: pruned first, so its anonymous volume is unused too.
    expect(await lines(['ps', '-aq'])).toEqual([]);
    expect(await lines(['volume', 'ls', '-q'])).toEqual(['named-unused']);
  });

  it('container prune reports the bytes of the writable layers it removed', async () => {
    await ok(['run', '--name', 'wrote', '--network', 'none', TEST_IMAGE, 'dd', 'if=/dev/zero', 'of=/blob', 'bs=1048576', 'count=3']);
    const out = await ok(['container', 'prune', '-f']);
    expect(out).toContain('Total reclaimed space: 3.146MB');
  });

  it('-a -f removes every unused image too; a running container keeps its image', async () => {
    await leftovers();
    const running = await ok(['run', '-d', '--name', 'runner', TEST_IMAGE, 'sleep', '60']);
    const out = await ok(['system', 'prune', '-a', '-f']);
    expect(out).toContain('Deleted Images:');
    expect(await lines(['ps', '-q', '--no-trunc'])).toEqual([running]);
    expect(await lines(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toEqual([TEST_IMAGE]);
    await ok(['rm', '-f', running]);
    const last = await ok(['system', 'prune', '-a', '-f', '--volumes']);
    expect(last).toContain('Total reclaimed space:');
    expect(await lines(['images', '-q'])).toEqual([]);
    // Named volumes survive even -a --volumes (only `docker volume prune -a` takes them).
    expect(await lines(['volume', 'ls', '-q'])).toEqual(['named-unused']);
    const dockerode = await daemon().dockerode.pruneVolumes({ filters: JSON.stringify({ all: ['true'] }) });
    expect(dockerode.VolumesDeleted).toContain('named-unused');
  });

  it('POST /build/prune on a daemon that never built anything reclaims nothing', async () => {
    const modem = (daemon().dockerode as unknown as { modem: { dial(opts: object, cb: (err: unknown, data: unknown) => void): void } }).modem;
    const report = await new Promise((resolve, reject) => {
      modem.dial({ path: '/build/prune?all=1', method: 'POST', statusCodes: { 200: true } }, (err, data) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(data)));
    });
    expect(report).toEqual({ CachesDeleted: [], SpaceReclaimed: 0 });
  });
});
