/**
 * Container start latency, side by side (run it with bench/run.sh, which builds it):
 *
 *   cli      berthd: `docker run --rm --network none berth.test/busybox true`, real docker CLI
 *   api      berthd: create → start → wait → delete through the API (dockerode)
 *   runc     `runc run` of the same rootfs (bundle from `runc spec`, args ["true"])
 *   dockerd  Debian's dockerd: `docker run --rm --network none` (when run.sh started one)
 *
 * Each: `--warmup` runs (default 3), then `--runs` timed runs (default 30). Prints a table and
 * writes it to bench/results/start-latency.md with the date and the machine.
 *
 * Options: --runs N  --warmup N  --only cli,api,runc,dockerd  --out FILE
 *          --dockerd-host unix://...  --dockerd-config DIR   (given by run.sh)
 */
import { cpus, availableParallelism, release } from 'node:os';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand } from '../tests/support/command.js';
import { startDaemon, type Daemon } from '../tests/support/daemon.js';
import { fixturePath, loadTestImage, TEST_IMAGE } from '../tests/support/fixtures.js';
import { findLeaksSettled, reclaimLeaks, snapshotResources } from '../tests/support/leaks.js';
import { DOCKER_CLI, REPO_ROOT } from '../tests/support/paths.js';
import { summarize, type Stats } from './stats.js';

type Engine = 'cli' | 'api' | 'runc' | 'dockerd';
const ENGINES: readonly Engine[] = ['cli', 'api', 'runc', 'dockerd'];
const LABELS: Record<Engine, string> = {
  cli: 'berthd, CLI: `docker run --rm --network none` … `true`',
  api: 'berthd, API: create → start → wait → delete (dockerode)',
  runc: '`runc run` of the same rootfs',
  dockerd: 'dockerd (Debian), CLI: `docker run --rm --network none` … `true`',
};
const CLI_TARGET_S = 0.25;
const API_VS_RUNC_TARGET = 1.5;

type Outcome = { readonly stats: Stats } | { readonly error: string };

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '30' },
    warmup: { type: 'string', default: '3' },
    only: { type: 'string', default: ENGINES.join(',') },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'start-latency.md') },
    'dockerd-host': { type: 'string' },
    'dockerd-config': { type: 'string' },
  },
});
const runs = Number(opts.runs);
const warmup = Number(opts.warmup);
const only = new Set(opts.only.split(',').map((s) => s.trim()));

/** Times `once` warmup + runs times; any failure ends the series with its message. */
async function series(name: Engine, once: (i: number) => Promise<void>): Promise<Outcome> {
  const samples: number[] = [];
  try {
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      await once(i);
      const seconds = (performance.now() - t0) / 1000;
      if (i >= warmup) samples.push(seconds);
    }
    const stats = summarize(samples);
    process.stderr.write(`${name}: median ${stats.median.toFixed(3)} s\n`);
    return { stats };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${name}: failed: ${message}\n`);
    return { error: oneLine(message) };
  }
}

/** An error message on one table-friendly line, at most 300 characters. */
function oneLine(message: string): string {
  const text = message.replace(/\s*\n\s*/g, ' | ').trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

async function check(what: string, result: Promise<{ code: number; stderr: string }>): Promise<void> {
  const r = await result;
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim()}`);
}

/** Leaks found after the bench's berthd stopped (reclaimed, and reported under the table). */
const leakNotes: string[] = [];

async function benchBerthd(results: Map<Engine, Outcome>): Promise<void> {
  let daemon: Daemon | undefined;
  const before = await snapshotResources();
  try {
    daemon = await startDaemon();
    await loadTestImage(daemon, 'oci');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const error = `berthd did not start or load the test image: ${oneLine(message)}`;
    for (const e of ['cli', 'api'] as const) if (only.has(e)) results.set(e, { error });
    if (daemon) await daemon.stop().catch(() => undefined);
    await daemon?.removeRoots().catch(() => undefined);
    return;
  }
  const d = daemon;
  try {
    if (only.has('cli')) {
      results.set('cli', await series('cli', () =>
        check('docker run', d.docker(['run', '--rm', '--network', 'none', TEST_IMAGE, 'true']))));
    }
    if (only.has('api')) {
      results.set('api', await series('api', async () => {
        const c = await d.dockerode.createContainer({ Image: TEST_IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
        await c.start();
        const exit = (await c.wait()) as { StatusCode?: number };
        await c.remove();
        if (exit.StatusCode !== 0) throw new Error(`container exited ${String(exit.StatusCode)}`);
      }));
    }
  } finally {
    await d.stop().catch(() => undefined);
    const leaks = await findLeaksSettled(before, d);
    if (leaks.length > 0) {
      leakNotes.push(...leaks);
      process.stderr.write(`berthd left resources behind (reclaimed):\n  ${leaks.join('\n  ')}\n`);
      await reclaimLeaks(before, d);
    }
    await d.removeRoots().catch(() => undefined);
  }
}

async function benchRunc(): Promise<Outcome> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-runc-'));
  try {
    const bundle = join(dir, 'bundle');
    const state = join(dir, 'state');
    await mkdir(bundle);
    await check('cp -a rootfs', runCommand('cp', ['-a', fixturePath('rootfsDir'), join(bundle, 'rootfs')]));
    await check('runc spec', runCommand('runc', ['spec'], { cwd: bundle }));
    const configPath = join(bundle, 'config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { process: { args: string[]; terminal: boolean } };
    config.process.args = ['true'];
    config.process.terminal = false;
    await writeFile(configPath, JSON.stringify(config));
    return await series('runc', (i) =>
      check('runc run', runCommand('runc', ['--root', state, 'run', '--bundle', bundle, `berth-bench-${process.pid}-${i}`])));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchDockerd(host: string, config: string): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: config };
  delete env.DOCKER_CONTEXT;
  try {
    // Docker 20.10 loads `docker save` tars, not OCI layouts.
    await check('docker load', runCommand(DOCKER_CLI, ['load', '-i', fixturePath('dockerSaveTar')], { env }));
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  return series('dockerd', () =>
    check('docker run', runCommand(DOCKER_CLI, ['run', '--rm', '--network', 'none', TEST_IMAGE, 'true'], { env })));
}

function cell(outcome: Outcome | undefined, pick: (s: Stats) => number): string {
  if (outcome === undefined) return '–';
  return 'stats' in outcome ? pick(outcome.stats).toFixed(3) : 'error';
}

function report(results: Map<Engine, Outcome>): string {
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1 (hybrid)';
  const lines = [
    '# Container start latency',
    '',
    `Date: ${new Date().toISOString()}  `,
    `Machine: ${availableParallelism()} CPUs (nproc), ${cpus()[0]?.model ?? 'unknown CPU'}, kernel ${release()}, cgroups ${cgroups}  `,
    `Runs: ${runs} timed after ${warmup} warm-ups each; seconds, wall clock around each command or API cycle.`,
    '',
    '| What | median | p90 | min | max |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const engine of ENGINES) {
    const o = results.get(engine);
    if (o === undefined) continue;
    lines.push(`| ${LABELS[engine]} | ${cell(o, (s) => s.median)} | ${cell(o, (s) => s.p90)} | ${cell(o, (s) => s.min)} | ${cell(o, (s) => s.max)} |`);
  }
  const errors = [...results].filter((entry): entry is [Engine, { error: string }] => 'error' in entry[1]);
  if (errors.length > 0) {
    lines.push('', ...errors.map(([engine, o]) => `- ${engine} error: ${o.error}`));
  }
  if (leakNotes.length > 0) {
    lines.push('', `berthd left ${leakNotes.length} resource(s) behind after SIGTERM: ${leakNotes.join('; ')}`);
  }
  lines.push('', 'Targets:');
  const cli = results.get('cli');
  if (cli && 'stats' in cli) {
    const ok = cli.stats.median <= CLI_TARGET_S;
    lines.push(`- CLI round trip median ≤ ${CLI_TARGET_S} s: ${ok ? 'met' : 'MISSED'} (${cli.stats.median.toFixed(3)} s)`);
  } else {
    lines.push(`- CLI round trip median ≤ ${CLI_TARGET_S} s: not measured`);
  }
  const api = results.get('api');
  const runc = results.get('runc');
  if (api && runc && 'stats' in api && 'stats' in runc) {
    const ratio = api.stats.median / runc.stats.median;
    lines.push(`- API cycle ≤ ${API_VS_RUNC_TARGET}× runc run (medians): ${ratio <= API_VS_RUNC_TARGET ? 'met' : 'MISSED'} (${ratio.toFixed(2)}×)`);
  } else {
    lines.push(`- API cycle ≤ ${API_VS_RUNC_TARGET}× runc run: not measured`);
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
    throw new Error('--runs must be ≥ 1 and --warmup ≥ 0');
  }
  const results = new Map<Engine, Outcome>();
  if (only.has('cli') || only.has('api')) await benchBerthd(results);
  if (only.has('runc')) results.set('runc', await benchRunc());
  if (only.has('dockerd')) {
    const host = opts['dockerd-host'];
    if (host !== undefined) {
      results.set('dockerd', await benchDockerd(host, opts['dockerd-config'] ?? join(tmpdir(), 'berth-bench-docker-config')));
    } else {
      process.stderr.write('dockerd: no --dockerd-host (bench/run.sh starts one when dockerd is installed); skipped\n');
    }
  }
  const text = report(results);
  process.stdout.write(`\n${text}`);
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, text);
  process.stdout.write(`\nwritten to ${opts.out}\n`);
  if ([...results.values()].some((o) => 'error' in o)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`start-latency: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
