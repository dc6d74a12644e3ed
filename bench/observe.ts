/**
 * Issue 3's figures, side by side (run with `npm run bench:observe`, which builds it):
 *
 *   exec    `docker exec <c> true` through the real CLI: berthd, and Debian's dockerd when
 *           bench/run-observe.sh started one
 *   stats   CPU used by the engine while 100 running containers are sampled at 1 Hz, as a %
 *           of one core over a window: idle (no one asks), berthd's one-timer `/berth/stats`
 *           feed, and Docker's API way (one `/containers/{id}/stats` stream per container),
 *           which is also what dockerd is measured on
 *
 * Options: --runs N (exec, default 30 after 3 warm-ups)  --containers N (default 100)
 *          --window S (default 20)  --out FILE  --dockerd-host unix://...  --dockerd-config DIR
 */
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { availableParallelism, release } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand, type CommandResult } from '../tests/support/command.js';
import { startDaemon } from '../tests/support/daemon.js';
import { fixturePath, loadTestImage, TEST_IMAGE } from '../tests/support/fixtures.js';
import { DOCKER_CLI, REPO_ROOT } from '../tests/support/paths.js';
import { summarize, type Stats } from './stats.js';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    containers: { type: 'string', default: '100' },
    window: { type: 'string', default: '20' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'observe.md') },
    'dockerd-host': { type: 'string' },
    'dockerd-config': { type: 'string' },
  },
});
const RUNS = Number(opts.runs);
const CONTAINERS = Number(opts.containers);
const WINDOW_S = Number(opts.window);
const USER_HZ = 100;

type Docker = (args: readonly string[]) => Promise<CommandResult>;

async function must(what: string, r: Promise<CommandResult>): Promise<CommandResult> {
  const res = await r;
  if (res.code !== 0) throw new Error(`${what} failed (${res.code}): ${res.stderr.trim()}`);
  return res;
}

async function execLatency(docker: Docker, container: string): Promise<Stats> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const t0 = performance.now();
    await must('docker exec', docker(['exec', container, 'true']));
    if (i >= 3) samples.push((performance.now() - t0) / 1000);
  }
  return summarize(samples);
}

/** CPU seconds (user + system) used so far by the processes whose pids are given. */
async function cpuSeconds(pids: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks / USER_HZ;
}

/** % of one core the engine used over the window while `during` runs. */
async function cpuPercent(pids: () => Promise<number[]>, during: () => Promise<() => void>): Promise<number> {
  const stop = await during();
  await new Promise((r) => setTimeout(r, 1000)); // let streams settle
  const ids = await pids();
  const c0 = await cpuSeconds(ids);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const used = (await cpuSeconds(ids)) - c0;
  const elapsed = (performance.now() - t0) / 1000;
  stop();
  return (used / elapsed) * 100;
}

function stream(socket: string, path: string): () => void {
  let res: IncomingMessage | undefined;
  const req = request({ socketPath: socket, path }, (r) => {
    res = r;
    r.resume();
  });
  req.on('error', () => undefined);
  req.end();
  return () => {
    res?.destroy();
    req.destroy();
  };
}

async function startMany(docker: Docker, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, () => must('docker run', docker(['run', '-d', '--network', 'none', TEST_IMAGE, 'sleep', '3600']))),
    );
    ids.push(...batch.map((r) => r.stdout.trim()));
  }
  return ids;
}

async function pidsByName(names: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = (await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '')).trim();
    if (names.includes(comm)) out.push(Number(entry));
  }
  return out;
}

interface Row {
  engine: string;
  exec?: Stats;
  idle?: number;
  feed?: number;
  api?: number;
  error?: string;
}

async function benchBerthd(): Promise<Row> {
  const d = await startDaemon();
  try {
    await loadTestImage(d, 'oci');
    const docker: Docker = (args) => d.docker(args);
    await must('docker run', docker(['run', '-d', '--name', 'exec-target', '--network', 'none', TEST_IMAGE, 'sleep', '3600']));
    const exec = await execLatency(docker, 'exec-target');
    const ids = await startMany(docker, CONTAINERS);
    const pids = async () => (d.pid === undefined ? [] : [d.pid]);
    const idle = await cpuPercent(pids, async () => () => undefined);
    const feed = await cpuPercent(pids, async () => stream(d.socket, '/berth/stats?interval=1000'));
    const api = await cpuPercent(pids, async () => {
      const stops = ids.map((id) => stream(d.socket, `/v1.43/containers/${id}/stats?stream=1`));
      return () => stops.forEach((s) => s());
    });
    await must('docker rm', docker(['rm', '-f', 'exec-target', ...ids]));
    return { engine: 'berthd', exec, idle, feed, api };
  } finally {
    await d.stop('SIGTERM');
    await d.removeRoots();
  }
}

async function benchDockerd(host: string, config: string): Promise<Row> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: config };
  const docker: Docker = (args) => runCommand(DOCKER_CLI, args, { env, timeoutMs: 120_000 });
  try {
    await must('docker load', docker(['load', '-i', fixturePath('dockerSaveTar')]));
    await must('docker run', docker(['run', '-d', '--name', 'exec-target', '--network', 'none', TEST_IMAGE, 'sleep', '3600']));
    const exec = await execLatency(docker, 'exec-target');
    const ids = await startMany(docker, CONTAINERS);
    const socket = host.replace(/^unix:\/\//, '');
    const pids = () => pidsByName(['dockerd', 'containerd']);
    const idle = await cpuPercent(pids, async () => () => undefined);
    const api = await cpuPercent(pids, async () => {
      const stops = ids.map((id) => stream(socket, `/v1.41/containers/${id}/stats?stream=1`));
      return () => stops.forEach((s) => s());
    });
    await docker(['rm', '-f', 'exec-target', ...ids]);
    return { engine: 'dockerd 20.10 (Debian) + containerd', exec, idle, api };
  } catch (err) {
    return { engine: 'dockerd', error: err instanceof Error ? err.message : String(err) };
  }
}

function report(rows: readonly Row[]): string {
  const f = (n: number | undefined, unit: string) => (n === undefined ? '—' : `${n.toFixed(unit === 's' ? 3 : 1)}${unit === '%' ? ' %' : ''}`);
  const lines = [
    `# Exec latency and stats cost`,
    '',
    `${new Date().toISOString()} · ${availableParallelism()} CPUs · kernel ${release()} · ${RUNS} exec runs after 3 warm-ups · ${CONTAINERS} containers · ${WINDOW_S} s windows`,
    '',
    '| Engine | exec median (s) | exec p90 (s) | idle CPU | `/berth/stats` 1 Hz | one stats stream per container |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) =>
      r.error
        ? `| ${r.engine} | error: ${r.error.replace(/\|/g, '/').slice(0, 120)} | | | | |`
        : `| ${r.engine} | ${f(r.exec?.median, 's')} | ${f(r.exec?.p90, 's')} | ${f(r.idle, '%')} | ${f(r.feed, '%')} | ${f(r.api, '%')} |`,
    ),
    '',
    'CPU is the engine\'s own (berthd; dockerd + containerd for Docker) as % of one core.',
    'Targets (issue 3): exec median ≤ 0.15 s through the CLI; stats for 100 containers at 1 Hz ≤ 5 % of one core.',
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const rows = [await benchBerthd()];
  if (opts['dockerd-host']) rows.push(await benchDockerd(opts['dockerd-host'], opts['dockerd-config'] ?? '/tmp/berth-bench-docker-config'));
  const text = report(rows);
  process.stdout.write(text);
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, text);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
