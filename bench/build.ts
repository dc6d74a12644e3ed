/**
 * Issue 6's build figure (run with `npm run bench:build`, which builds it): the wall time of
 * a no-op rebuild — `DOCKER_BUILDKIT=0 docker build -t bench-build:1 <ctx>` (the real CLI, the
 * classic builder) of a 10-step Dockerfile whose every step the build cache already holds:
 *
 *   FROM  ENV  WORKDIR  COPY (1 MB)  RUN  COPY (200 small files)  RUN  LABEL  EXPOSE  CMD
 *
 * One untimed build fills the cache (and checks the result runs); then N timed rebuilds,
 * each checked to have served all nine steps from the cache with the same image ID. The
 * target is ≤ 0.5 s (median). With --dockerd-host (bench/run.sh starts Debian's dockerd when
 * installed) the same rebuild runs against it too, for reference.
 *
 * Options: --runs N (default 11)  --out FILE  --dockerd-host unix://…  --dockerd-config DIR
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand, type CommandResult } from '../tests/support/command.js';
import { startDaemon } from '../tests/support/daemon.js';
import { fixturePath, loadTestImage, TEST_IMAGE } from '../tests/support/fixtures.js';
import { findLeaksSettled, reclaimLeaks, snapshotResources } from '../tests/support/leaks.js';
import { DOCKER_CLI, REPO_ROOT } from '../tests/support/paths.js';
import { summarize } from './stats.js';
import { measureAndReport, runBenchmark } from './report.js';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '11' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'build.md') },
    'dockerd-host': { type: 'string' },
    'dockerd-config': { type: 'string' },
  },
});
const RUNS = Number(opts.runs);
const TARGET_S = 0.5;
const TAG = 'berth.test/bench-build:1';

const DOCKERFILE = [
  `FROM ${TEST_IMAGE}`,
  'ENV APP=/app MODE=bench',
  'WORKDIR /app',
  'COPY data.bin ./',
  'RUN sha256sum data.bin > data.sum',
  'COPY src/ ./src/',
  'RUN ls src | wc -l > count',
  'LABEL org.example.bench=build',
  'EXPOSE 8080',
  'CMD ["cat", "/app/count"]',
  '',
].join('\n');
const STEPS = 10;

interface Engine {
  readonly name: 'berthd' | 'dockerd';
  docker(args: readonly string[]): Promise<CommandResult>;
}

async function must(what: string, r: Promise<CommandResult>): Promise<CommandResult> {
  const res = await r;
  if (res.code !== 0) throw new Error(`${what} failed (${res.code}): ${(res.stderr || res.stdout).trim().slice(0, 500)}`);
  return res;
}

async function makeContext(dir: string): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), DOCKERFILE);
  const data = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
  await writeFile(join(dir, 'data.bin'), data);
  for (let i = 0; i < 200; i++) await writeFile(join(dir, 'src', `file-${i}.txt`), `file ${i}\n`.repeat(i + 1));
}

async function imageId(engine: Engine): Promise<string> {
  return (await must(`${engine.name}: inspect`, engine.docker(['image', 'inspect', '--format', '{{.Id}}', TAG]))).stdout.trim();
}

/** One rebuild, timed; checks that every step after FROM came from the cache. */
async function rebuild(engine: Engine, ctx: string, expectedId: string): Promise<number> {
  const t0 = performance.now();
  const r = await must(`${engine.name}: docker build`, engine.docker(['build', '-t', TAG, ctx]));
  const seconds = (performance.now() - t0) / 1000;
  const hits = r.stdout.split(' ---> Using cache').length - 1;
  if (hits !== STEPS - 1) throw new Error(`${engine.name}: the rebuild used the cache for ${hits} of ${STEPS - 1} steps:\n${r.stdout}`);
  const id = await imageId(engine);
  if (id !== expectedId) throw new Error(`${engine.name}: the rebuild made a new image (${id}, was ${expectedId})`);
  return seconds;
}

const notes: string[] = [];

async function bench(ctx: string, timings: Map<Engine['name'], number[]>): Promise<void> {
  const before = await snapshotResources();
  const d = await startDaemon();
  const build = { DOCKER_BUILDKIT: '0' };
  const engines: Engine[] = [{ name: 'berthd', docker: (args) => d.docker(args, { env: build, timeoutMs: 300_000 }) }];
  const host = opts['dockerd-host'];
  if (host !== undefined) {
    const env: NodeJS.ProcessEnv = { ...process.env, ...build, DOCKER_HOST: host, DOCKER_CONFIG: opts['dockerd-config'] ?? join(tmpdir(), 'berth-bench-docker-config') };
    delete env.DOCKER_CONTEXT;
    const dockerd: Engine = { name: 'dockerd', docker: (args) => runCommand(DOCKER_CLI, args, { env, timeoutMs: 300_000 }) };
    try {
      await must('dockerd: docker load', dockerd.docker(['load', '-i', fixturePath('dockerSaveTar')]));
      engines.push(dockerd);
    } catch (err) {
      notes.push(`dockerd column skipped: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  try {
    await loadTestImage(d, 'oci');
    const ids = new Map<Engine['name'], string>();
    for (const engine of engines) {
      await must(`${engine.name}: first build`, engine.docker(['build', '--no-cache', '-t', TAG, ctx]));
      const count = await must(`${engine.name}: run`, engine.docker(['run', '--rm', '--network', 'none', TAG]));
      if (count.stdout.trim() !== '200') throw new Error(`${engine.name}: the built image printed ${JSON.stringify(count.stdout)}, not 200`);
      ids.set(engine.name, await imageId(engine));
    }
    for (let n = 1; n <= RUNS; n++) {
      const line: string[] = [];
      for (const engine of engines) {
        const s = await rebuild(engine, ctx, ids.get(engine.name) as string);
        let list = timings.get(engine.name);
        if (list === undefined) timings.set(engine.name, (list = []));
        list.push(s);
        line.push(`${engine.name} ${s.toFixed(3)} s`);
      }
      process.stderr.write(`run ${n}: ${line.join(', ')}\n`);
    }
    for (const engine of engines) await engine.docker(['rmi', TAG]);
  } finally {
    await d.stop().catch(() => undefined);
    const leaks = await findLeaksSettled(before, d);
    if (leaks.length > 0) {
      notes.push(`berthd left ${leaks.length} resource(s) behind after SIGTERM: ${leaks.join('; ')}`);
      await reclaimLeaks(before, d);
    }
    await d.removeRoots().catch(() => undefined);
  }
}

function report(timings: ReadonlyMap<Engine['name'], number[]>, error: string | undefined): string {
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1 (hybrid)';
  const labels: Record<Engine['name'], string> = { berthd: 'berthd', dockerd: 'dockerd (Debian)' };
  const lines = [
    '# No-op rebuild (classic builder)',
    '',
    `Date: ${new Date().toISOString()}  `,
    `Machine: ${availableParallelism()} CPUs (nproc), ${cpus()[0]?.model ?? 'unknown CPU'}, kernel ${release()}, cgroups ${cgroups}  `,
    `What: \`DOCKER_BUILDKIT=0 docker build -t ${TAG} <ctx>\` of a ${STEPS}-step Dockerfile (1 MB + 200 small files copied, two RUNs) ` +
      `with every step in the build cache; ${RUNS} timed runs after one untimed --no-cache build, interleaved.`,
    '',
    '| Engine | median s | p90 s | min s | max s |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const [name, xs] of timings) {
    const s = summarize(xs);
    lines.push(`| ${labels[name]} | ${s.median.toFixed(3)} | ${s.p90.toFixed(3)} | ${s.min.toFixed(3)} | ${s.max.toFixed(3)} |`);
  }
  if (error !== undefined) lines.push('', `- error: ${error}`);
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- ${n}`));
  const berthd = timings.get('berthd');
  const median = berthd !== undefined && berthd.length > 0 && error === undefined ? summarize(berthd).median : undefined;
  lines.push(
    '',
    `Target (issue 6): a no-op rebuild ≤ ${TARGET_S} s — ${median === undefined ? 'not measured' : median <= TARGET_S ? `met (${median.toFixed(3)} s)` : `MISSED (${median.toFixed(3)} s)`}`,
  );
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs must be an integer ≥ 1');
  const scratch = await mkdtemp(join(process.env.BERTH_TEST_TMPDIR ?? tmpdir(), 'berth-build-bench-'));
  const timings = new Map<Engine['name'], number[]>();
  await measureAndReport(
    'build',
    opts.out,
    async () => {
      try {
        await makeContext(scratch);
        await bench(scratch, timings);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
    (error) => report(timings, error),
  );
}

runBenchmark('build', main);
