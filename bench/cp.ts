/**
 * Issue 5's `docker cp` figure (run with `npm run bench:cp`, which builds it): a 200 MB tree
 * (~2000 files of mixed sizes in a few folders, non-compressible bytes) copied
 *
 *   in       `docker cp <tree>/. <c>:/copy-N` into a running container (the real CLI: it tars
 *            the tree, berthd extracts it through the archive API into the container's layer)
 *   out      `docker cp <c>:/copy-N <dir>` back to the host
 *   tar      `tar -C <tree> -cf - . | tar -C <dir> -xf -` on the same tree, same disk, same run
 *
 * interleaved, after one untimed round that checks every byte arrived (`diff -r`), each after a
 * `sync` (untimed) so no copy pays for the write-back of the one before. Throughput
 * is MB/s (10^6 B/s) of file bytes; the target is ≥ 70 % of tar's (medians). With
 * --dockerd-host (bench/run.sh starts Debian's dockerd when installed) the same `docker cp`
 * runs against it too, for reference.
 *
 * Options: --runs N (default 7)  --files N (default 2000)  --bytes N (default 200000000)
 *          --out FILE  --dockerd-host unix://…  --dockerd-config DIR
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
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '7' },
    files: { type: 'string', default: '2000' },
    bytes: { type: 'string', default: '200000000' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'cp.md') },
    'dockerd-host': { type: 'string' },
    'dockerd-config': { type: 'string' },
  },
});
const RUNS = Number(opts.runs);
const FILES = Number(opts.files);
const BYTES = Number(opts.bytes);
const DIRS = 10;
const RATIO_TARGET = 0.7;

type Way = 'tar' | 'in' | 'out' | 'dockerd-in' | 'dockerd-out';
const LABELS: Record<Way, string> = {
  tar: '`tar -cf - . \\| tar -xf -` (host to host)',
  in: 'berthd: `docker cp <tree>/. <c>:/copy` (into a running container)',
  out: 'berthd: `docker cp <c>:/copy <dir>` (out of it)',
  'dockerd-in': 'dockerd (Debian): `docker cp` in',
  'dockerd-out': 'dockerd (Debian): `docker cp` out',
};

/** Seconds per run, by way. */
type Timings = Partial<Record<Way, number[]>>;

async function must(what: string, r: Promise<CommandResult>): Promise<CommandResult> {
  const res = await r;
  if (res.code !== 0) throw new Error(`${what} failed (${res.code}): ${(res.stderr || res.stdout).trim().slice(0, 500)}`);
  return res;
}

/** A deterministic generator (xorshift32), so every run of the bench copies the same tree. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/**
 * FILES files in DIRS folders (two levels), log-uniform sizes from 512 B to 4 MB scaled so the
 * total is BYTES; contents are slices of a random pool, so nothing compresses or is sparse.
 */
async function makeTree(root: string): Promise<void> {
  const rand = prng(0xbe27);
  const raw = Array.from({ length: FILES }, () => Math.exp(Math.log(512) + rand() * (Math.log(4e6) - Math.log(512))));
  const scale = BYTES / raw.reduce((a, b) => a + b, 0);
  const sizes = raw.map((s) => Math.max(1, Math.round(s * scale)));
  sizes[sizes.length - 1] = Math.max(1, BYTES - sizes.slice(0, -1).reduce((a, b) => a + b, 0));
  const pool = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE(Math.floor(rand() * 0x1_0000_0000), i);
  for (let d = 0; d < DIRS; d++) await mkdir(join(root, `dir-${d}`, 'nested'), { recursive: true });
  await Promise.all(
    [...Array(8).keys()].map(async (worker) => {
      for (let i = worker; i < FILES; i += 8) {
        const size = sizes[i] as number;
        const start = (i * 7919) % (pool.length - Math.min(size, pool.length));
        const data = size <= pool.length ? pool.subarray(start, start + size) : Buffer.concat([pool, pool.subarray(0, size - pool.length)]);
        const dir = join(root, `dir-${i % DIRS}`, i % 3 === 0 ? 'nested' : '');
        await writeFile(join(dir, `file-${i}.bin`), data);
      }
    }),
  );
}

/**
 * Times one command. `sync` first (untimed): each copy starts with no dirty pages of the
 * previous one still being written back, which otherwise slows whichever copy comes next.
 */
async function timed(what: string, run: () => Promise<CommandResult>): Promise<number> {
  await must('sync', runCommand('sync', []));
  const t0 = performance.now();
  await must(what, run());
  return (performance.now() - t0) / 1000;
}

interface Engine {
  readonly name: 'berthd' | 'dockerd';
  docker(args: readonly string[]): Promise<CommandResult>;
}

/** A running container to copy into; returns its name. */
async function startContainer(engine: Engine): Promise<string> {
  const name = `cp-bench-${process.pid}`;
  await must(`${engine.name}: docker run`, engine.docker(['run', '-d', '--name', name, '--network', 'none', TEST_IMAGE, 'sleep', '3600']));
  return name;
}

/** One copy in and out; `check` diffs the round trip against the source. */
async function cpRound(engine: Engine, c: string, src: string, scratch: string, n: number, check: boolean): Promise<[number, number]> {
  const inside = `/copy-${n}`;
  const back = join(scratch, `${engine.name}-out-${n}`);
  const tIn = await timed(`${engine.name}: docker cp in`, () => engine.docker(['cp', `${src}/.`, `${c}:${inside}`]));
  const tOut = await timed(`${engine.name}: docker cp out`, () => engine.docker(['cp', `${c}:${inside}`, back]));
  if (check) await must(`${engine.name}: diff -r of the round trip`, runCommand('diff', ['-r', '-q', src, back]));
  await must(`${engine.name}: rm in the container`, engine.docker(['exec', c, 'rm', '-rf', inside]));
  await rm(back, { recursive: true, force: true });
  return [tIn, tOut];
}

async function tarRound(src: string, scratch: string, n: number, check: boolean): Promise<number> {
  const dst = join(scratch, `tar-${n}`);
  await mkdir(dst);
  const t = await timed('tar | tar', () => runCommand('bash', ['-c', 'set -o pipefail; tar -C "$1" -cf - . | tar -C "$2" -xf -', 'tar', src, dst]));
  if (check) await must('diff -r of tar | tar', runCommand('diff', ['-r', '-q', src, dst]));
  await rm(dst, { recursive: true, force: true });
  return t;
}

const notes: string[] = [];

async function bench(src: string, scratch: string, timings: Timings): Promise<void> {
  const push = (way: Way, s: number): void => {
    (timings[way] ??= []).push(s);
  };
  const before = await snapshotResources();
  const d = await startDaemon();
  const berthd: Engine = { name: 'berthd', docker: (args) => d.docker(args, { timeoutMs: 300_000 }) };
  let dockerd: Engine | undefined;
  const host = opts['dockerd-host'];
  if (host !== undefined) {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: opts['dockerd-config'] ?? join(tmpdir(), 'berth-bench-docker-config') };
    delete env.DOCKER_CONTEXT;
    dockerd = { name: 'dockerd', docker: (args) => runCommand(DOCKER_CLI, args, { env, timeoutMs: 300_000 }) };
  }
  try {
    await loadTestImage(d, 'oci');
    const c = await startContainer(berthd);
    let rc: string | undefined;
    if (dockerd !== undefined) {
      try {
        await must('dockerd: docker load', dockerd.docker(['load', '-i', fixturePath('dockerSaveTar')]));
        rc = await startContainer(dockerd);
      } catch (err) {
        notes.push(`dockerd column skipped: ${err instanceof Error ? err.message : String(err)}`);
        dockerd = undefined;
      }
    }
    // One untimed round each, checked byte for byte; then the timed ones, interleaved.
    await tarRound(src, scratch, 0, true);
    await cpRound(berthd, c, src, scratch, 0, true);
    if (dockerd && rc) await cpRound(dockerd, rc, src, scratch, 0, true);
    for (let n = 1; n <= RUNS; n++) {
      const t = await tarRound(src, scratch, n, false);
      push('tar', t);
      const [tIn, tOut] = await cpRound(berthd, c, src, scratch, n, false);
      push('in', tIn);
      push('out', tOut);
      let line = `run ${n}: tar ${t.toFixed(2)} s, berthd in ${tIn.toFixed(2)} s, out ${tOut.toFixed(2)} s`;
      if (dockerd && rc) {
        const [dIn, dOut] = await cpRound(dockerd, rc, src, scratch, n, false);
        push('dockerd-in', dIn);
        push('dockerd-out', dOut);
        line += `, dockerd in ${dIn.toFixed(2)} s, out ${dOut.toFixed(2)} s`;
      }
      process.stderr.write(`${line}\n`);
    }
    await berthd.docker(['rm', '-f', c]);
    if (dockerd && rc) await dockerd.docker(['rm', '-f', rc]);
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

function report(timings: Timings, error: string | undefined): string {
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1 (hybrid)';
  const mbps = (s: number): string => (BYTES / 1e6 / s).toFixed(0);
  const lines = [
    '# docker cp',
    '',
    `Date: ${new Date().toISOString()}  `,
    `Machine: ${availableParallelism()} CPUs (nproc), ${cpus()[0]?.model ?? 'unknown CPU'}, kernel ${release()}, cgroups ${cgroups}  `,
    `Tree: ${FILES} files, ${(BYTES / 1e6).toFixed(0)} MB in ${DIRS} folders (+ one nested each), sizes log-uniform 512 B–4 MB; ` +
      `${RUNS} timed runs after one checked round (diff -r), interleaved, each after an untimed \`sync\`; same disk for everything.`,
    '',
    '| What | median s | MB/s (median) | min s | max s |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const way of Object.keys(LABELS) as Way[]) {
    const xs = timings[way];
    if (xs === undefined || xs.length === 0) continue;
    const s = summarize(xs);
    lines.push(`| ${LABELS[way]} | ${s.median.toFixed(2)} | ${mbps(s.median)} | ${s.min.toFixed(2)} | ${s.max.toFixed(2)} |`);
  }
  if (error !== undefined) lines.push('', `- error: ${error}`);
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- ${n}`));
  lines.push('', `Target (issue 5): docker cp ≥ ${RATIO_TARGET * 100} % of tar's throughput (medians):`);
  const tar = timings.tar;
  for (const way of ['in', 'out'] as const) {
    const xs = timings[way];
    if (tar && xs && tar.length > 0 && xs.length > 0 && error === undefined) {
      const ratio = summarize(tar).median / summarize(xs).median;
      lines.push(`- ${way}: ${ratio >= RATIO_TARGET ? 'met' : 'MISSED'} (${(ratio * 100).toFixed(0)} %)`);
    } else {
      lines.push(`- ${way}: not measured`);
    }
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  for (const [name, v, min] of [['--runs', RUNS, 1], ['--files', FILES, DIRS], ['--bytes', BYTES, FILES]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  }
  const scratch = await mkdtemp(join(process.env.BERTH_TEST_TMPDIR ?? tmpdir(), 'berth-cp-bench-'));
  const timings: Timings = {};
  await measureAndReport(
    'cp',
    opts.out,
    async () => {
      try {
        const src = join(scratch, 'tree');
        await makeTree(src);
        process.stderr.write(`tree: ${FILES} files, ${BYTES} bytes in ${src}\n`);
        await bench(src, scratch, timings);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
    (error) => report(timings, error),
  );
}

runBenchmark('cp', main);
