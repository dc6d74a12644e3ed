/**
 * Issue 6's pull figure (run with `npm run bench:pull`, which builds it): a 100 MB image — by
 * default 4 layers of 25 MB random bytes each, gzip (so ~100 MB on the wire and on disk) —
 * put in Debian's docker-registry (on a Unix socket, bridged to loopback as the tests' harness
 * does it; seeded over its HTTP API by tests/support/registry-seed.ts) and
 * pulled with the real CLI, `docker pull 127.0.0.1:<port>/bench/pull:latest`:
 *
 *   berthd    a fresh berthd in its test network namespace, reaching the registry on its own
 *             loopback (the harness's relay)
 *   dockerd   Debian's dockerd, when bench/run.sh started one (BENCH_DOCKERD_NETNS names its
 *             namespace): a second relay gives the same registry a loopback port there too
 *
 * One untimed pull each first (checked: the image ID is the config's digest), then --runs
 * timed pulls, interleaved; each after `docker rmi` of the image (untimed, checked: no layer
 * left, so every pull downloads and unpacks all of it) and a `sync`. Throughput is MB/s
 * (10^6 B/s) of compressed layer bytes.
 *
 * Options: --runs N (default 5)  --layers N (default 4)  --layer-bytes N (default 25000000)
 *          --out FILE  --dockerd-host unix://…  --dockerd-config DIR
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand, type CommandResult } from '../tests/support/command.js';
import { startDaemon, type Daemon } from '../tests/support/daemon.js';
import { findLeaksSettled, reclaimLeaks, snapshotResources } from '../tests/support/leaks.js';
import { bridgeLoopback, type LoopbackBridge } from '../tests/support/loopback-bridge.js';
import type { TestNetwork } from '../tests/support/netns.js';
import { DOCKER_CLI, REPO_ROOT } from '../tests/support/paths.js';
import { imageOf, randomLayer, RegistrySeeder, type SeedImage, type SeedLayer } from '../tests/support/registry-seed.js';
import { summarize } from './stats.js';
import { measureAndReport, runBenchmark } from './report.js';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '5' },
    layers: { type: 'string', default: '4' },
    'layer-bytes': { type: 'string', default: '25000000' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'pull.md') },
    'dockerd-host': { type: 'string' },
    'dockerd-config': { type: 'string' },
  },
});
const RUNS = Number(opts.runs);
const LAYERS = Number(opts.layers);
const LAYER_BYTES = Number(opts['layer-bytes']);
const REPO = 'bench/pull';

type Way = 'berthd' | 'dockerd';
const LABELS: Record<Way, string> = {
  berthd: 'berthd: `docker pull` (real CLI)',
  dockerd: 'dockerd (Debian): `docker pull`',
};

interface Engine {
  readonly name: Way;
  /** The image's name as this engine reaches the registry. */
  readonly ref: string;
  docker(args: readonly string[]): Promise<CommandResult>;
  /** Unpacked layers the engine holds (to check that rmi left none). */
  layerCount(): Promise<number>;
}

const notes: string[] = [];

interface BenchRegistry {
  /** Its Unix socket: bridged to a loopback port in each namespace that pulls. */
  readonly socket: string;
  /** `http://127.0.0.1:<port>` in this process (for seeding). */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Debian's docker-registry, anonymous, on a Unix socket in a temp dir, reachable from this
 * process through a loopback bridge. (tests/support/registry.ts does the same for tests, but
 * it imports vitest, which a plain node process cannot.)
 */
async function startBenchRegistry(): Promise<BenchRegistry> {
  const root = await mkdtemp(join(process.env.BERTH_TEST_TMPDIR ?? tmpdir(), 'berth-pull-bench-'));
  const socket = join(root, 'registry.sock');
  await writeFile(
    join(root, 'config.yml'),
    'version: 0.1\nlog:\n  level: warn\n' +
      `storage:\n  filesystem:\n    rootdirectory: ${join(root, 'storage')}\n` +
      `http:\n  net: unix\n  addr: ${socket}\n  secret: ${randomBytes(16).toString('hex')}\n`,
  );
  const child = spawn('docker-registry', ['serve', join(root, 'config.yml')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  let bridge: LoopbackBridge | undefined;
  const stop = async (): Promise<void> => {
    await bridge?.close().catch(() => undefined);
    child.kill('SIGKILL');
    await exited;
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; !existsSync(socket); i++) {
      if (i > 200 || child.exitCode !== null) throw new Error('docker-registry did not start (apt-get install docker-registry)');
      await new Promise((r) => setTimeout(r, 50));
    }
    bridge = (await bridgeLoopback([socket], undefined))[0];
    return { socket, url: `http://127.0.0.1:${bridge?.port ?? 0}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function must(what: string, r: Promise<CommandResult>): Promise<CommandResult> {
  const res = await r;
  if (res.code !== 0) throw new Error(`${what} failed (${res.code}): ${(res.stderr || res.stdout).trim().slice(0, 500)}`);
  return res;
}

async function makeImage(): Promise<SeedImage> {
  const layers: SeedLayer[] = [];
  for (let i = 0; i < LAYERS; i++) layers.push(await randomLayer(`data-${i}.bin`, LAYER_BYTES));
  return imageOf(layers);
}

/** Pulls, timed; then removes the image again (untimed) and checks nothing of it is left. */
async function pullOnce(engine: Engine, image: SeedImage): Promise<number> {
  await must('sync', runCommand('sync', []));
  const t0 = performance.now();
  await must(`${engine.name}: docker pull`, engine.docker(['pull', engine.ref]));
  const seconds = (performance.now() - t0) / 1000;
  const id = (await must(`${engine.name}: docker inspect`, engine.docker(['image', 'inspect', '--format', '{{.Id}}', engine.ref]))).stdout.trim();
  if (id !== image.config.digest) throw new Error(`${engine.name} pulled ${id}, expected ${image.config.digest}`);
  await must(`${engine.name}: docker rmi`, engine.docker(['rmi', engine.ref]));
  const left = await engine.layerCount();
  if (left !== 0) throw new Error(`${engine.name} kept ${left} layer(s) after docker rmi: the next pull would not download everything`);
  return seconds;
}

/**
 * Debian's dockerd runs in a namespace bench/run.sh made; the registry's relay needs only its
 * name and path (bridgeLoopback reads nothing else of a TestNetwork).
 */
function dockerdNamespace(name: string): TestNetwork {
  const partial: Pick<TestNetwork, 'name' | 'path'> = { name, path: `/run/netns/${name}` };
  return partial as TestNetwork;
}

/** Layers in dockerd's layer database (`<data-root>/image/<driver>/layerdb/sha256/`). */
async function dockerdLayerCount(dataRoot: string | undefined): Promise<number> {
  if (dataRoot === undefined) return 0;
  let count = 0;
  for (const driver of await readdir(join(dataRoot, 'image')).catch(() => [] as string[])) {
    count += (await readdir(join(dataRoot, 'image', driver, 'layerdb', 'sha256')).catch(() => [] as string[])).length;
  }
  return count;
}

async function bench(image: SeedImage, timings: Partial<Record<Way, number[]>>): Promise<void> {
  const before = await snapshotResources();
  let d: Daemon | undefined;
  let registry: BenchRegistry | undefined;
  const bridges: LoopbackBridge[] = [];
  try {
    d = await startDaemon();
    const daemon = d;
    registry = await startBenchRegistry();
    const t0 = performance.now();
    await new RegistrySeeder(registry.url).pushImage(REPO, 'latest', image);
    process.stderr.write(`seeded ${REPO}:latest in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const reach = async (netns: TestNetwork): Promise<string> => {
      const [bridge] = await bridgeLoopback([(registry as BenchRegistry).socket], netns);
      if (bridge === undefined) throw new Error(`no loopback bridge into ${netns.name}`);
      bridges.push(bridge);
      return `127.0.0.1:${bridge.port}/${REPO}:latest`;
    };
    if (daemon.netns === undefined) throw new Error('berthd runs in no test namespace (BERTH_TEST_NETNS=0?): it could not reach the registry');

    const engines: Engine[] = [
      {
        name: 'berthd',
        ref: await reach(daemon.netns),
        docker: (args) => daemon.docker(args, { timeoutMs: 600_000 }),
        layerCount: async () => (await readdir(join(daemon.dataRoot, 'layers')).catch(() => [] as string[])).length,
      },
    ];
    const host = opts['dockerd-host'];
    const netns = process.env.BENCH_DOCKERD_NETNS;
    if (host !== undefined && netns !== undefined && netns !== '') {
      const ref = await reach(dockerdNamespace(netns));
      const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: opts['dockerd-config'] ?? join(tmpdir(), 'berth-bench-docker-config') };
      delete env.DOCKER_CONTEXT;
      const dataRoot = process.env.BENCH_DOCKERD_DATA;
      engines.push({
        name: 'dockerd',
        ref,
        docker: (args) => runCommand(DOCKER_CLI, args, { env, timeoutMs: 600_000 }),
        layerCount: () => dockerdLayerCount(dataRoot),
      });
    } else if (host !== undefined) {
      notes.push('dockerd column skipped: BENCH_DOCKERD_NETNS (its network namespace) was not given');
    }

    for (const engine of [...engines]) {
      try {
        await pullOnce(engine, image); // untimed, checked
      } catch (err) {
        if (engine.name === 'berthd') throw err;
        notes.push(`dockerd column skipped: ${err instanceof Error ? err.message : String(err)}`);
        engines.splice(engines.indexOf(engine), 1);
      }
    }
    for (let n = 1; n <= RUNS; n++) {
      const line: string[] = [];
      for (const engine of engines) {
        const s = await pullOnce(engine, image);
        (timings[engine.name] ??= []).push(s);
        line.push(`${engine.name} ${s.toFixed(2)} s`);
      }
      process.stderr.write(`run ${n}: ${line.join(', ')}\n`);
    }
  } finally {
    if (d !== undefined) await d.stop().catch(() => undefined);
    // The relays leave berthd's namespace before its leak check looks there.
    for (const bridge of bridges) await bridge.close().catch(() => undefined);
    await registry?.stop().catch(() => undefined);
    if (d !== undefined) {
      const leaks = await findLeaksSettled(before, d);
      if (leaks.length > 0) {
        notes.push(`berthd left ${leaks.length} resource(s) behind after SIGTERM: ${leaks.join('; ')}`);
        await reclaimLeaks(before, d);
      }
      await d.removeRoots().catch(() => undefined);
    }
  }
}

function report(image: SeedImage, timings: Partial<Record<Way, number[]>>, error: string | undefined): string {
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1 (hybrid)';
  const bytes = image.layers.reduce((sum, l) => sum + l.size, 0);
  const lines = [
    '# docker pull',
    '',
    `Date: ${new Date().toISOString()}  `,
    `Machine: ${availableParallelism()} CPUs (nproc), ${cpus()[0]?.model ?? 'unknown CPU'}, kernel ${release()}, cgroups ${cgroups}  `,
    `Image: ${image.layers.length} layers of ${(LAYER_BYTES / 1e6).toFixed(0)} MB random bytes, gzip: ${(bytes / 1e6).toFixed(1)} MB to download; ` +
      `Debian's docker-registry on loopback; ${RUNS} timed pulls each after one checked pull, interleaved, each after \`docker rmi\` and \`sync\`.`,
    '',
    '| What | median s | MB/s (median) | min s | max s |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const way of Object.keys(LABELS) as Way[]) {
    const xs = timings[way];
    if (xs === undefined || xs.length === 0) continue;
    const s = summarize(xs);
    lines.push(`| ${LABELS[way]} | ${s.median.toFixed(2)} | ${(bytes / 1e6 / s.median).toFixed(0)} | ${s.min.toFixed(2)} | ${s.max.toFixed(2)} |`);
  }
  const berthd = timings.berthd;
  const dockerd = timings.dockerd;
  if (berthd && dockerd && berthd.length > 0 && dockerd.length > 0) {
    lines.push('', `berthd / dockerd (medians): ${(summarize(berthd).median / summarize(dockerd).median).toFixed(2)}×`);
  }
  if (error !== undefined) lines.push('', `- error: ${error}`);
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  for (const [name, v, min] of [['--runs', RUNS, 1], ['--layers', LAYERS, 1], ['--layer-bytes', LAYER_BYTES, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  }
  const image = await makeImage();
  const timings: Partial<Record<Way, number[]>> = {};
  await measureAndReport('pull', opts.out, () => bench(image, timings), (error) => report(image, timings, error));
}

runBenchmark('pull', main);
