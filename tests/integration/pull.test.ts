import { readdir, truncate, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandResult } from '../support/command.js';
import {
  busyboxImage,
  changedConfig,
  gzipLayer,
  imageOf,
  indexOf,
  randomLayer,
  registryBlobPath,
  RegistrySeeder,
  withConfig,
  type SeedImage,
} from '../support/registry-seed.js';
import { useRegistry } from '../support/registry.js';
import { useDaemon } from '../support/suite.js';

/**
 * `docker pull` against Debian's docker-registry on loopback (tests/support/registry.ts),
 * seeded over the registry's HTTP API with images made here (registry-seed.ts), and pulled
 * by berthd with the real docker CLI and dockerode: by name, tag and digest, from an OCI
 * index per platform, with and without credentials; already-present layers skipped; progress
 * messages; and failures (a corrupted blob, a truncated blob, a missing tag, a 401) that must
 * leave no image, layer, blob or scratch file behind.
 */
const daemon = useDaemon();
const registry = useRegistry(() => ({ netns: daemon().netns }));
const AUTH = { username: 'puller', password: 'pull-secret-1' };
const authRegistry = useRegistry(() => ({ netns: daemon().netns, auth: AUTH }));

let busybox: SeedImage;
let busyboxDigest: string;
let arm64: SeedImage;
let multiDigest: string;
let layered: SeedImage;
let broken: SeedImage;

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

async function docker(args: readonly string[], input?: string): Promise<CommandResult> {
  return daemon().docker(args, { timeoutMs: 120_000, ...(input !== undefined ? { input } : {}) });
}

async function must(args: readonly string[], input?: string): Promise<string> {
  const r = await docker(args, input);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function inspect(ref: string): Promise<Dockerode.ImageInspectInfo> {
  return daemon().dockerode.getImage(ref).inspect();
}

/** Everything an image leaves on disk and in listings: nothing may change across a failed pull. */
async function storeState(): Promise<{ images: string; blobs: string[]; layers: string[]; tmp: string[] }> {
  const list = async (dir: string): Promise<string[]> => (await readdir(join(daemon().dataRoot, dir)).catch(() => [])).sort();
  return {
    images: (await must(['images', '-a', '-q', '--no-trunc'])).split('\n').sort().join('\n'),
    blobs: await list('blobs/sha256'),
    layers: await list('layers'),
    tmp: await list('tmp'),
  };
}

interface Message {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

function followProgress(stream: NodeJS.ReadableStream): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    daemon().dockerode.modem.followProgress(stream, (err: Error | null, output: unknown[]) => (err ? reject(err) : resolve(output as never)));
  });
}

beforeAll(async () => {
  const seed = new RegistrySeeder(registry().url);
  busybox = await busyboxImage();
  busyboxDigest = await seed.pushImage('test/busybox', 'latest', busybox);
  await seed.putManifest('test/busybox', 'v1', busybox.manifest);

  // The same layers claiming linux/arm64 (a config of its own, so another image), both under one index.
  arm64 = withConfig(busybox.layers, changedConfig(busybox, { architecture: 'arm64', variant: 'v8' }));
  await seed.pushImage('test/multi', arm64.manifest.digest, arm64);
  await seed.pushImage('test/multi', busybox.manifest.digest, busybox);
  multiDigest = await seed.putManifest(
    'test/multi',
    'latest',
    indexOf([
      { image: busybox, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]),
  );

  // busybox plus a gzip layer of its own: the base layer is shared.
  const extra = await randomLayer('extra.bin', 600_000);
  layered = imageOf([...busybox.layers, extra]);
  await seed.pushImage('test/layered', 'latest', layered);

  // Two new layers: the first sound, the second corrupted or truncated in storage per test.
  broken = imageOf([await gzipLayer([{ name: 'sound.txt', data: Buffer.from('sound layer\n') }]), await randomLayer('victim.bin', 300_000)]);
  await seed.pushImage('test/broken', 'latest', broken);

  await new RegistrySeeder(authRegistry().url, AUTH).pushImage('private/busybox', 'latest', busybox);
}, 120_000);

describe('docker pull', () => {
  it('pulls a name as :latest, runs it, and is up to date the second time', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const ref = `${registry().host}/test/busybox`;
    const first = await must(['pull', ref]);
    const layer = short(busybox.layers[0]?.digest ?? '');
    expect(first).toContain('latest: Pulling from test/busybox');
    expect(first).toContain(`${layer}: Pull complete`);
    expect(first).toContain(`Digest: ${busyboxDigest}`);
    expect(first).toContain(`Status: Downloaded newer image for ${ref}:latest`);

    const info = await inspect(ref);
    expect(info.Id).toBe(busybox.config.digest);
    expect(info.RepoTags).toEqual([`${ref}:latest`]);
    expect(info.RepoDigests).toEqual([`${ref}@${busyboxDigest}`]);
    expect((await must(['run', '--rm', '--network', 'none', ref, 'echo', 'pulled'])).trim()).toBe('pulled');

    const second = await must(['pull', ref]);
    expect(second).toContain(`Status: Image is up to date for ${ref}:latest`);
    expect(second).not.toContain('Pull complete');

    const events = await must(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'type=image', '--filter', 'event=pull', '--format', '{{.Actor.ID}} {{.Actor.Attributes.name}}']);
    expect(events.trim().split('\n')).toEqual([`${ref}:latest ${ref}`, `${ref}:latest ${ref}`]);
  });

  it('pulls by digest and by another tag; by digest alone into an empty store', async () => {
    const name = `${registry().host}/test/busybox`;
    expect(await must(['pull', `${name}@${busyboxDigest}`])).toContain(`Status: Image is up to date for ${name}@${busyboxDigest}`);
    const v1 = await must(['pull', `${name}:v1`]);
    expect(v1).toContain(`Status: Downloaded newer image for ${name}:v1`);
    expect(v1).not.toContain('Pulling fs layer'); // the image is here: nothing to download
    expect((await inspect(`${name}:v1`)).Id).toBe(busybox.config.digest);

    // Removing the last tag of a repository takes its digest references along (as Docker).
    await must(['rmi', `${name}:latest`, `${name}:v1`]);
    expect((await storeState()).layers).toEqual([]);
    const byDigest = await must(['pull', `${name}@${busyboxDigest}`]);
    expect(byDigest).toContain(`${busyboxDigest}: Pulling from test/busybox`);
    expect(byDigest).toContain('Pull complete');
    expect(byDigest).toContain(`Status: Downloaded newer image for ${name}@${busyboxDigest}`);
    const info = await inspect(`${name}@${busyboxDigest}`);
    expect(info.RepoTags).toEqual([]);
    expect(info.RepoDigests).toEqual([`${name}@${busyboxDigest}`]);
  });

  it('picks each platform of an OCI index, and names the missing one', async () => {
    const ref = `${registry().host}/test/multi`;
    const arm = await must(['pull', '--platform', 'linux/arm64', ref]);
    expect(arm).toContain(`Digest: ${multiDigest}`);
    let info = await inspect(ref);
    expect(info.Id).toBe(arm64.config.digest);
    expect(info.Architecture).toBe('arm64');
    expect(info.RepoDigests).toEqual([`${ref}@${multiDigest}`]);

    expect(await must(['pull', '--platform', 'linux/amd64', ref])).toContain(`Status: Downloaded newer image for ${ref}:latest`);
    info = await inspect(ref);
    expect(info.Id).toBe(busybox.config.digest);
    expect(info.Architecture).toBe('amd64');
    expect(await must(['pull', ref])).toContain(`Status: Image is up to date for ${ref}:latest`); // the host's platform

    const before = await storeState();
    const missing = await docker(['pull', '--platform', 'linux/s390x', ref]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('no matching manifest for linux/s390x in the manifest list entries');
    expect(await storeState()).toEqual(before);
    expect((await inspect(ref)).Id).toBe(busybox.config.digest);
    await must(['rmi', arm64.config.digest]);
  });

  it('says "Already exists" for present layers and reports Downloading totals to dockerode', async () => {
    const ref = `${registry().host}/test/layered`;
    const [base, extra] = layered.layers.map((l) => l.digest) as [string, string];
    const cli = await must(['pull', ref]);
    expect(cli).toContain(`${short(base)}: Already exists`);
    expect(cli).toContain(`${short(extra)}: Pull complete`);
    await must(['rmi', ref]);

    const stream = await daemon().dockerode.pull(ref);
    const messages = await followProgress(stream);
    const of = (id: string, status: string): typeof messages => messages.filter((m) => m.id === short(id) && m.status === status);
    expect(of(base, 'Already exists')).toHaveLength(1);
    const downloading = of(extra, 'Downloading');
    expect(downloading.length).toBeGreaterThan(0);
    expect(downloading.every((m) => m.progressDetail?.total === layered.layers[1]?.size)).toBe(true);
    expect(downloading[downloading.length - 1]?.progressDetail?.current).toBe(layered.layers[1]?.size);
    expect(of(extra, 'Pull complete')).toHaveLength(1);
    expect(messages[messages.length - 1]?.status).toBe(`Status: Downloaded newer image for ${ref}:latest`);
    expect((await inspect(ref)).RootFS.Layers).toEqual(layered.layers.map((l) => l.diffId));
    await must(['rmi', ref]);
  });

  it('pulls from a registry that needs credentials: refused without, accepted with them', async () => {
    const ref = `${authRegistry().host}/private/busybox`;
    const before = await storeState();
    const anonymous = await docker(['pull', ref]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/pull access denied for .*private\/busybox, repository does not exist or may require 'docker login': unauthorized: authentication required/);
    await expect(daemon().dockerode.pull(ref)).rejects.toThrow(/pull access denied for .*private\/busybox, repository does not exist or may require 'docker login': unauthorized: authentication required/);
    expect(await storeState()).toEqual(before);

    const withAuth = await daemon().dockerode.pull(ref, { authconfig: { ...AUTH, serveraddress: authRegistry().host } });
    const messages = await followProgress(withAuth);
    expect(messages[messages.length - 1]?.status).toBe(`Status: Downloaded newer image for ${ref}:latest`);
    await must(['rmi', ref]);

    const login = await docker(['login', authRegistry().host, '-u', AUTH.username, '--password-stdin'], AUTH.password);
    expect(login.code, login.stderr).toBe(0);
    try {
      expect(await must(['pull', ref])).toContain(`Status: Downloaded newer image for ${ref}:latest`);
    } finally {
      await docker(['logout', authRegistry().host]);
    }
    await must(['rmi', ref]);
  });

  it('pulls what berthd itself pushed', async () => {
    const source = `${registry().host}/test/busybox`;
    const pushed = `${registry().host}/pushed/busybox:1`;
    await must(['pull', source]);
    await must(['tag', source, pushed]);
    await must(['push', pushed]);
    await must(['rmi', '--force', busybox.config.digest]); // every name earlier tests left on it too
    expect((await storeState()).layers).toEqual([]);

    const pulled = await must(['pull', pushed]);
    expect(pulled).toContain('Pull complete');
    expect(pulled).toContain(`Status: Downloaded newer image for ${pushed}`);
    expect((await inspect(pushed)).Id).toBe(busybox.config.digest);
    expect((await must(['run', '--rm', '--network', 'none', pushed, 'echo', 'round trip'])).trim()).toBe('round trip');
    await must(['rmi', pushed]);
  });
});

describe('docker pull failures leave nothing behind', () => {
  const victim = (): string => registryBlobPath(join(registry().root, 'storage'), broken.layers[1]?.digest ?? '');

  async function failsCleanly(ref: string, message: RegExp, flags: readonly string[] = []): Promise<void> {
    const before = await storeState();
    const cli = await docker(['pull', ...flags, ref]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(message);
    expect(await storeState()).toEqual(before);
    expect(before.tmp).toEqual([]);
  }

  it('every tag (--all-tags): refused, 501', async () => {
    await failsCleanly(`${registry().host}/test/busybox`, /--all-tags\) is not supported by berthd: name a tag or a digest/, ['--all-tags']);
  });

  it('a missing tag', async () => {
    await failsCleanly(`${registry().host}/test/busybox:no-such-tag`, /manifest for .*test\/busybox:no-such-tag not found/);
  });

  it('a blob corrupted in the registry (digest mismatch), through the CLI and dockerode', async () => {
    const handle = await open(victim(), 'r+');
    try {
      await handle.write(Buffer.from('CORRUPTED'), 0, 9, 1000);
    } finally {
      await handle.close();
    }
    const ref = `${registry().host}/test/broken`;
    await failsCleanly(ref, new RegExp(`filesystem layer verification failed for digest ${broken.layers[1]?.digest ?? ''}`));
    const before = await storeState();
    // Mid-stream, the error arrives in-band: the last message dockerode reads.
    const messages = await followProgress(await daemon().dockerode.pull(ref));
    expect(messages[messages.length - 1]?.error).toMatch(/filesystem layer verification failed/);
    expect(await storeState()).toEqual(before);
  });

  it('a truncated blob', async () => {
    await writeFile(victim(), broken.layers[1]?.bytes ?? Buffer.alloc(0));
    await truncate(victim(), 100_000);
    await failsCleanly(`${registry().host}/test/broken`, /truncated|failed/);
    await writeFile(victim(), broken.layers[1]?.bytes ?? Buffer.alloc(0));
  });

  it('a 401 from a registry that needs credentials', async () => {
    await failsCleanly(`${authRegistry().host}/private/busybox:latest`, /pull access denied for .*private\/busybox, repository does not exist or may require 'docker login': unauthorized: authentication required/);
  });
});
