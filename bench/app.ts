/**
 * Issue 7's app figures (run with `npm run bench:app`, which builds it), in Debian's Chromium
 * driven by playwright-core against browser mode and a bench berthd in its own network
 * namespace:
 *
 *   startup   spawn `node electron/dist/main/cli/start.js --socket ...` → the Containers table
 *             shows its rows in a fresh browser context (cold cache); split into "server up"
 *             (the URL printed) and "page" (URL → rows). Median of --runs.
 *   update    the Containers view with N containers: one `docker rename` → engine event → the
 *             store reloads the list → Vue patches every row. Per update: the main-thread cost
 *             of the list reply (its WebSocket message to the end of that task: decode, store,
 *             render; timed in the page), and trigger → last table mutation (end to end, with
 *             the store's 150 ms coalescing). 10 containers as the reference, then 200.
 *   cpu       CPU of the Chromium renderer processes (and of all Chromium processes, and of
 *             the app server) as % of one core over --window seconds with the Dashboard and the
 *             Containers view open in two tabs: with --running `sleep` containers sampled at
 *             1 Hz, next to the same two tabs with none running.
 *
 * Options: --runs N (default 7)  --containers N (200)  --running N (50)  --window S (30)
 *          --updates N (10)  --out FILE
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../tests/support/chromium.js';
import type { CommandResult } from '../tests/support/command.js';
import { startDaemon, type Daemon } from '../tests/support/daemon.js';
import { loadTestImage, TEST_IMAGE } from '../tests/support/fixtures.js';
import { REPO_ROOT } from '../tests/support/paths.js';
import { measureAndReport, runBenchmark } from './report.js';
import { summarize, type Stats } from './stats.js';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    containers: { type: 'string', default: '200' },
    running: { type: 'string', default: '50' },
    window: { type: 'string', default: '30' },
    updates: { type: 'string', default: '10' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'app.md') },
  },
});
const RUNS = Number(opts.runs);
const CONTAINERS = Number(opts.containers);
const RUNNING = Number(opts.running);
const WINDOW_S = Number(opts.window);
const UPDATES = Number(opts.updates);
const REFERENCE_CONTAINERS = 10;
const USER_HZ = 100;
const START_JS = join(REPO_ROOT, 'electron', 'dist', 'main', 'cli', 'start.js');

interface AppServer {
  readonly url: string;
  readonly process: ChildProcess;
  /** ms from spawn to the URL on stdout. */
  readonly upMs: number;
  stop(): Promise<void>;
}

async function startServer(socket: string, settings: string): Promise<AppServer> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [START_JS, '--socket', socket, '--port', '0', '--settings', settings], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/.exec(out);
      if (m !== null) resolve(m[0]);
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`the app server exited (${String(code)}) before printing its URL: ${out}`)));
  });
  const upMs = performance.now() - t0;
  return {
    url,
    process: child,
    upMs,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resolves with the epoch ms at which the Containers table first shows `rows` rows. */
async function openContainers(page: Page, url: string, rows: number): Promise<number> {
  await page.goto(`${url}#/containers`);
  const handle = await page.waitForFunction(
    (n) => {
      const table = document.querySelector('table[aria-label="Containers"]');
      return table !== null && table.querySelectorAll('tbody tr').length >= n ? performance.timeOrigin + performance.now() : false;
    },
    rows,
    { polling: 'raf', timeout: 30_000 },
  );
  return (await handle.jsonValue()) as number;
}

async function must(d: Daemon, args: readonly string[]): Promise<CommandResult> {
  const r = await d.docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`);
  return r;
}

async function createMany(d: Daemon, n: number, run: boolean, prefix: string): Promise<void> {
  for (let i = 0; i < n; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, (_, j) =>
        must(d, run ? ['run', '-d', '--name', `${prefix}-${i + j}`, '--network', 'none', TEST_IMAGE, 'sleep', '3600'] : ['create', '--name', `${prefix}-${i + j}`, '--network', 'none', TEST_IMAGE, 'true']),
      ),
    );
  }
}

interface Startup {
  total: number[];
  up: number[];
  page: number[];
}

async function benchStartup(browser: Browser, d: Daemon, settings: string, rows: number, result: Startup): Promise<void> {
  for (let i = 0; i < RUNS + 1; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const t0 = performance.timeOrigin + performance.now();
    const server = await startServer(d.socket, settings);
    try {
      const ready = await openContainers(page, server.url, rows);
      if (i === 0) continue; // warm-up: the OS file cache
      result.total.push((ready - t0) / 1000);
      result.up.push(server.upMs / 1000);
      result.page.push((ready - t0 - server.upMs) / 1000);
    } finally {
      await context.close();
      await server.stop();
    }
  }
}

/** Installed before the page's scripts: times every WebSocket message to the end of its task. */
function instrumentSockets(): void {
  const w = window as unknown as { __msgs: { t: number; size: number; cost: number }[]; WebSocket: typeof WebSocket };
  w.__msgs = [];
  const Native = w.WebSocket;
  class TimedSocket extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('message', (e: MessageEvent<ArrayBuffer>) => {
        const t = performance.now();
        const size = e.data instanceof ArrayBuffer ? e.data.byteLength : 0;
        const channel = new MessageChannel();
        channel.port1.onmessage = () => w.__msgs.push({ t: performance.timeOrigin + t, size, cost: performance.now() - t });
        channel.port2.postMessage(0);
      });
    }
  }
  w.WebSocket = TimedSocket;
}

interface Updates {
  readonly containers: number;
  readonly cost: Stats;
  readonly endToEnd: Stats;
  readonly replyBytes: number;
}

async function benchUpdates(browser: Browser, d: Daemon, url: string, containers: number): Promise<Updates> {
  const context = await browser.newContext();
  await context.addInitScript(instrumentSockets);
  const page = await context.newPage();
  try {
    await openContainers(page, url, containers);
    await page.waitForTimeout(1000);
    const costs: number[] = [];
    const ends: number[] = [];
    let replyBytes = 0;
    const names = (await d.dockerode.listContainers({ all: true })).map((c) => (c.Names[0] ?? '').replace(/^\//, ''));
    for (let i = 0; i < UPDATES; i++) {
      await page.evaluate(() => {
        const w = window as unknown as { __msgs: unknown[]; __lastMutation: number };
        w.__msgs = [];
        w.__lastMutation = 0;
        const table = document.querySelector('table[aria-label="Containers"]');
        if (table === null) throw new Error('no Containers table');
        new MutationObserver(() => (w.__lastMutation = performance.timeOrigin + performance.now())).observe(table, { subtree: true, childList: true, characterData: true, attributes: true });
      });
      const name = names[i % names.length] ?? '';
      const renamed = `${name}-r${i}`;
      const t0 = performance.timeOrigin + performance.now();
      await must(d, ['rename', name, renamed]);
      names[i % names.length] = renamed;
      await page.getByRole('link', { name: renamed, exact: true }).waitFor({ timeout: 10_000 });
      await page.waitForTimeout(400); // let the reload's patch and any late reply land
      const { msgs, last } = await page.evaluate(() => {
        const w = window as unknown as { __msgs: { t: number; size: number; cost: number }[]; __lastMutation: number };
        return { msgs: w.__msgs, last: w.__lastMutation };
      });
      const reply = msgs.reduce<{ size: number; cost: number } | undefined>((a, m) => (a === undefined || m.size > a.size ? m : a), undefined);
      if (reply === undefined) throw new Error('no WebSocket message after the rename: the list did not reload');
      costs.push(reply.cost / 1000);
      replyBytes = reply.size;
      ends.push((last - t0) / 1000);
    }
    return { containers, cost: summarize(costs), endToEnd: summarize(ends), replyBytes };
  } finally {
    await context.close();
  }
}

/** CPU seconds (user + system) of the processes so far. */
async function cpuSeconds(pids: readonly number[]): Promise<number> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks / USER_HZ;
}

/** Chromium's processes started from this one: all of them, and the renderers. */
async function chromiumPids(): Promise<{ all: number[]; renderers: number[] }> {
  const parent = new Map<number, number>();
  const cmd = new Map<number, string>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? 0));
    cmd.set(Number(entry), (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' '));
  }
  const ours = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  const all = [...cmd.keys()].filter((pid) => ours(pid) && (cmd.get(pid) ?? '').includes('chromium'));
  return { all, renderers: all.filter((pid) => (cmd.get(pid) ?? '').includes('--type=renderer')) };
}

interface Cpu {
  readonly renderers: number;
  readonly chromium: number;
  readonly server: number;
  /** Points the Dashboard's CPU chart gained in the window: proof the charts were live. */
  readonly chartPoints: number;
}

function chartPoints(page: Page): Promise<number> {
  return page
    .locator('figure[aria-label="CPU (all containers)"]')
    .getAttribute('data-points')
    .then((v) => Number(v ?? 0));
}

async function benchCpu(browser: Browser, server: AppServer, expectRunning: number): Promise<Cpu> {
  const context = await browser.newContext();
  try {
    const dashboard = await context.newPage();
    await dashboard.goto(`${server.url}#/dashboard`);
    await dashboard.locator('figure[aria-label="CPU (all containers)"]').waitFor({ timeout: 30_000 });
    const list = await context.newPage();
    await openContainers(list, server.url, expectRunning);
    await list.waitForTimeout(3000); // subscriptions settle
    const pids = await chromiumPids();
    const serverPid = server.process.pid === undefined ? [] : [server.process.pid];
    const p0 = await chartPoints(dashboard);
    const [r0, a0, s0] = [await cpuSeconds(pids.renderers), await cpuSeconds(pids.all), await cpuSeconds(serverPid)];
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
    const elapsed = (performance.now() - t0) / 1000;
    const [r1, a1, s1] = [await cpuSeconds(pids.renderers), await cpuSeconds(pids.all), await cpuSeconds(serverPid)];
    const gained = (await chartPoints(dashboard)) - p0;
    return { renderers: ((r1 - r0) / elapsed) * 100, chromium: ((a1 - a0) / elapsed) * 100, server: ((s1 - s0) / elapsed) * 100, chartPoints: gained };
  } finally {
    await context.close();
  }
}

const startup: Startup = { total: [], up: [], page: [] };
const updates: Updates[] = [];
const cpu: { label: string; value: Cpu }[] = [];

async function measure(): Promise<void> {
  const d = await startDaemon();
  const work = await mkdtemp(join(tmpdir(), 'berth-bench-app-'));
  const browser = await launchChromium();
  try {
    await loadTestImage(d, 'oci');
    const settings = join(work, 'settings.json');
    await createMany(d, REFERENCE_CONTAINERS, false, 'ref');
    await benchStartup(browser, d, settings, REFERENCE_CONTAINERS, startup);
    const server = await startServer(d.socket, settings);
    try {
      updates.push(await benchUpdates(browser, d, server.url, REFERENCE_CONTAINERS));
      await createMany(d, CONTAINERS - REFERENCE_CONTAINERS, false, 'many');
      updates.push(await benchUpdates(browser, d, server.url, CONTAINERS));
      await must(d, ['rm', '-f', ...(await d.dockerode.listContainers({ all: true })).map((c) => c.Id)]);
      await createMany(d, 1, false, 'idle');
      cpu.push({ label: 'Dashboard + Containers, no container running (reference)', value: await benchCpu(browser, server, 1) });
      await createMany(d, RUNNING, true, 'sleep');
      cpu.push({ label: `Dashboard + Containers, ${RUNNING} running, stats at 1 Hz`, value: await benchCpu(browser, server, RUNNING) });
    } finally {
      await server.stop();
    }
  } finally {
    await browser.close();
    await d.stop('SIGTERM');
    await d.removeRoots();
    await rm(work, { recursive: true, force: true });
  }
}

function report(error: string | undefined): string {
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1 (hybrid)';
  const s = (xs: number[]): Stats | undefined => (xs.length === 0 ? undefined : summarize(xs));
  const row = (what: string, st: Stats | undefined, scale = 1, digits = 3) =>
    st === undefined ? `| ${what} | — | — | — | — |` : `| ${what} | ${(st.median * scale).toFixed(digits)} | ${(st.p90 * scale).toFixed(digits)} | ${(st.min * scale).toFixed(digits)} | ${(st.max * scale).toFixed(digits)} |`;
  const lines = [
    '# App: startup, container table updates, renderer CPU',
    '',
    `Date: ${new Date().toISOString()}  `,
    `Machine: ${availableParallelism()} CPUs (nproc), ${cpus()[0]?.model ?? 'unknown CPU'}, kernel ${release()}, cgroups ${cgroups}  `,
    'Browser: Debian Chromium, headless, --disable-gpu (playwright-core); the app in browser mode against a bench berthd.',
    '',
    `## Startup to an interactive container list (${RUNS} runs after 1 warm-up, ${REFERENCE_CONTAINERS} containers), seconds`,
    '',
    '| What | median | p90 | min | max |',
    '| --- | ---: | ---: | ---: | ---: |',
    row('spawn of the app server → Containers table with its rows', s(startup.total)),
    row('… of which: spawn → server up (URL printed, engine connected)', s(startup.up)),
    row('… of which: URL → rows shown (fresh browser context)', s(startup.page)),
    '',
    'Target: ≤ 1.5 s (median).',
    '',
    `## Container table update (${UPDATES} updates, one \`docker rename\` each; every row re-rendered from the reloaded list), ms`,
    '',
    '| Containers | reply size | main-thread cost median | p90 | max | rename → last table mutation median | p90 |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...updates.map(
      (u) =>
        `| ${u.containers} | ${(u.replyBytes / 1024).toFixed(1)} KiB | ${(u.cost.median * 1000).toFixed(1)} | ${(u.cost.p90 * 1000).toFixed(1)} | ${(u.cost.max * 1000).toFixed(1)} | ${(u.endToEnd.median * 1000).toFixed(0)} | ${(u.endToEnd.p90 * 1000).toFixed(0)} |`,
    ),
    '',
    'Target: ≤ 100 ms per update with 200 containers (main-thread cost). The end-to-end column includes the engine event, the store\'s 150 ms coalescing and the list call.',
    '',
    `## CPU over ${WINDOW_S} s, % of one core`,
    '',
    '| Pages open | Chromium renderers | all Chromium processes | app server (node) | Dashboard CPU chart: points gained |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...cpu.map((c) => `| ${c.label} | ${c.value.renderers.toFixed(1)} % | ${c.value.chromium.toFixed(1)} % | ${c.value.server.toFixed(1)} % | ${c.value.chartPoints} |`),
    '',
    'Target: renderer ≤ 10 % of one core with 50 running containers at 1 Hz.',
  ];
  if (error !== undefined) lines.push('', `- error: ${error}`);
  return `${lines.join('\n')}\n`;
}

runBenchmark('bench:app', () => measureAndReport('bench:app', opts.out, measure, report));
