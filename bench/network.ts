/**
 * Issue 4's networking figures for berthd (run with `npm run bench:network`, which builds it):
 *
 *   start     `docker run --rm --network none <test image> true` next to the same on the default
 *             bridge (`docker run --rm <test image> true`), real docker CLI, interleaved, after
 *             warm-ups; the bridge's added latency = median(bridge) − median(none)
 *   transfer  a bounded TCP transfer (default 200 MB) into a sink inside a container
 *             (`busybox nc -l -p 5000 -e sh -c 'dd of=/dev/null bs=1048576 2>&1'`: it reads to
 *             EOF and answers dd's summary; one untimed transfer each way first goes into
 *             `wc -c` and must answer the exact byte count), published with `-p 5000:5000`,
 *             sent from berthd's network namespace
 *             (a small Node client under nsenter) once through the published port on 127.0.0.1
 *             (DNAT in berthd's nft table) and once to the container's address directly. Timed from
 *             connect until the sink's answer and close, so every byte was read in the container.
 *
 * Options: --runs N (start, default 30)  --warmup N (default 3)  --transfers N (per way,
 *          default 5)  --bytes N (default 200000000)  --out FILE
 * (--dockerd-host/--dockerd-config from run.sh are accepted and ignored: no dockerd column.)
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand, type CommandResult } from '../tests/support/command.js';
import { startDaemon, type Daemon } from '../tests/support/daemon.js';
import { loadTestImage, TEST_IMAGE } from '../tests/support/fixtures.js';
import { findLeaksSettled, reclaimLeaks, snapshotResources } from '../tests/support/leaks.js';
import { REPO_ROOT } from '../tests/support/paths.js';
import { summarize, type Stats } from './stats.js';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '30' },
    warmup: { type: 'string', default: '3' },
    transfers: { type: 'string', default: '5' },
    bytes: { type: 'string', default: '200000000' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'network.md') },
    'dockerd-host': { type: 'string' },
    'dockerd-config': { type: 'string' },
  },
});
const RUNS = Number(opts.runs);
const WARMUP = Number(opts.warmup);
const TRANSFERS = Number(opts.transfers);
const BYTES = Number(opts.bytes);
const PORT = 5000;
const ADDED_LATENCY_TARGET_S = 0.02;
const THROUGHPUT_RATIO_TARGET = 0.5;

/**
 * The client (CommonJS, for `node -e`): connects to argv host:port, writes `bytes` zero bytes
 * with backpressure, half-closes, and waits for the sink's answer (its byte count) and the
 * close. Prints {"seconds":…,"answer":"…"} on stdout; exits 1 on a socket error.
 */
const CLIENT = `
const net = require('node:net');
const [host, port, total] = process.argv.slice(1);
const chunk = Buffer.alloc(1 << 20);
let left = Number(total);
let answer = '';
const t0 = performance.now();
const s = net.connect({ host, port: Number(port), allowHalfOpen: true }, () => {
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { s.once('drain', pump); return; }
    }
    s.end();
  };
  pump();
});
s.setEncoding('utf8');
s.on('data', (d) => { answer += d; });
s.on('close', (hadError) => {
  if (hadError) return;
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - t0) / 1000, answer: answer.trim() }) + '\\n');
});
s.on('error', (e) => { process.stderr.write(e.message + '\\n'); process.exit(1); });
`;

type Way = 'proxy' | 'direct';
const WAYS: readonly Way[] = ['proxy', 'direct'];
const WAY_LABELS: Record<Way, string> = {
  proxy: 'published port, `127.0.0.1:5000` (DNAT; the proxy holds the port)',
  direct: 'container address directly, `<IP>:5000`',
};

interface Results {
  none?: Stats;
  bridge?: Stats;
  startError?: string;
  /** MB/s (10^6 bytes per second), one per transfer. */
  throughput: Record<Way, number[]>;
  transferError?: string;
}

async function must(what: string, r: Promise<CommandResult>): Promise<CommandResult> {
  const res = await r;
  if (res.code !== 0) throw new Error(`${what} failed (${res.code}): ${(res.stderr || res.stdout).trim()}`);
  return res;
}

function message(err: unknown): string {
  const text = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' | ').trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

async function startLatency(d: Daemon, results: Results): Promise<void> {
  const none: number[] = [];
  const bridge: number[] = [];
  const time = async (args: readonly string[]): Promise<number> => {
    const t0 = performance.now();
    await must(`docker ${args.join(' ')}`, d.docker(args));
    return (performance.now() - t0) / 1000;
  };
  // Interleaved, so drift on the machine weighs on both the same.
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const n = await time(['run', '--rm', '--network', 'none', TEST_IMAGE, 'true']);
    const b = await time(['run', '--rm', TEST_IMAGE, 'true']);
    if (i >= WARMUP) {
      none.push(n);
      bridge.push(b);
    }
  }
  results.none = summarize(none);
  results.bridge = summarize(bridge);
  process.stderr.write(`start: none ${results.none.median.toFixed(3)} s, bridge ${results.bridge.median.toFixed(3)} s (medians)\n`);
}

/** Runs a command in berthd's network namespace (or here with BERTH_TEST_NETNS=0). */
function inBerthdNetns(d: Daemon, args: readonly string[], timeoutMs: number): Promise<CommandResult> {
  if (d.netns !== undefined) return d.netns.exec(args, { timeoutMs });
  const [file, ...rest] = args;
  return runCommand(file as string, rest, { timeoutMs });
}

/**
 * What the sink runs on the accepted connection (stdin and stdout are the socket). `count`
 * answers the exact byte count but busybox wc reads 4 KiB at a time (~330 MB/s here, which
 * would cap both ways alike); `fast` is dd with 1 MiB reads, which answers its records summary
 * once it read to EOF.
 */
const SINKS = {
  count: 'wc -c',
  fast: 'dd of=/dev/null bs=1048576 2>&1',
} as const;
type Sink = keyof typeof SINKS;

/** One transfer into a fresh sink container; returns MB/s. */
async function transfer(d: Daemon, way: Way, n: number, sink: Sink): Promise<number> {
  const name = `net-bench-sink-${n}-${way}`;
  await must('docker run sink', d.docker([
    'run', '-d', '--name', name, '-p', `${PORT}:${PORT}`, TEST_IMAGE,
    'nc', '-l', '-p', String(PORT), '-e', 'sh', '-c', SINKS[sink],
  ]));
  try {
    // Wait until nc listens inside the container (the proxy would otherwise accept and reset).
    // (busybox nc listens on [::], so /proc/net/tcp6: netstat reads both.)
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await d.docker(['exec', name, 'sh', '-c', `netstat -ltn | grep -q ':${PORT} '`]);
      if (r.code === 0) break;
      if (Date.now() > deadline) throw new Error(`the sink in ${name} did not listen on ${PORT} within 10 s`);
      await new Promise((res) => setTimeout(res, 50));
    }
    let host = '127.0.0.1';
    if (way === 'direct') {
      const ip = await must('docker inspect', d.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name]));
      host = ip.stdout.trim();
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`no IPv4 address for ${name}: "${host}"`);
    }
    const r = await must(`client → ${host}:${PORT}`,
      inBerthdNetns(d, [process.execPath, '-e', CLIENT, host, String(PORT), String(BYTES)], 120_000));
    const out = JSON.parse(r.stdout.trim()) as { seconds: number; answer: string };
    if (sink === 'count' && out.answer !== String(BYTES)) {
      throw new Error(`the sink read ${out.answer || 'nothing'} bytes, not ${BYTES} (${way})`);
    }
    if (sink === 'fast' && !/records out/.test(out.answer)) {
      throw new Error(`the sink (dd) did not finish: "${out.answer}" (${way})`);
    }
    const mbps = BYTES / 1e6 / out.seconds;
    process.stderr.write(`transfer ${n} ${way} (${sink}): ${out.seconds.toFixed(3)} s, ${mbps.toFixed(0)} MB/s\n`);
    return mbps;
  } finally {
    await d.docker(['rm', '-f', name]);
  }
}

async function throughput(d: Daemon, results: Results): Promise<void> {
  // One untimed transfer each way first, into the exact counter (every byte arrives), then
  // the timed ones into dd, alternating.
  for (const way of WAYS) await transfer(d, way, 0, 'count');
  for (let n = 1; n <= TRANSFERS; n++) {
    for (const way of WAYS) results.throughput[way].push(await transfer(d, way, n, 'fast'));
  }
}

const leakNotes: string[] = [];

async function bench(results: Results): Promise<void> {
  const before = await snapshotResources();
  const d = await startDaemon();
  try {
    await loadTestImage(d, 'oci');
    try {
      await startLatency(d, results);
    } catch (err) {
      results.startError = message(err);
      process.stderr.write(`start: failed: ${results.startError}\n`);
    }
    try {
      await throughput(d, results);
    } catch (err) {
      results.transferError = message(err);
      process.stderr.write(`transfer: failed: ${results.transferError}\n`);
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

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function report(r: Results): string {
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1 (hybrid)';
  const f = (x: number): string => x.toFixed(3);
  const lines = [
    '# Networking',
    '',
    `Date: ${new Date().toISOString()}  `,
    `Machine: ${availableParallelism()} CPUs (nproc), ${cpus()[0]?.model ?? 'unknown CPU'}, kernel ${release()}, cgroups ${cgroups}  `,
    `berthd in its own test network namespace; everything through the real docker CLI.`,
    '',
    `## Start latency (${RUNS} runs after ${WARMUP} warm-ups each, interleaved; seconds)`,
    '',
    '| What | median | p90 | min | max |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  const row = (label: string, s: Stats | undefined): void => {
    if (s) lines.push(`| ${label} | ${f(s.median)} | ${f(s.p90)} | ${f(s.min)} | ${f(s.max)} |`);
  };
  row('`docker run --rm --network none` … `true`', r.none);
  row('`docker run --rm` … `true` (default bridge)', r.bridge);
  if (r.startError) lines.push('', `- start latency error: ${r.startError}`);
  lines.push(
    '',
    `## Throughput (${(BYTES / 1e6).toFixed(0)} MB per transfer into \`nc -l … dd of=/dev/null bs=1M\` in the container, ${TRANSFERS} transfers each way, alternating; MB/s = 10^6 B/s)`,
    '',
    '| Way | median MB/s | min | max |',
    '| --- | ---: | ---: | ---: |',
  );
  for (const way of WAYS) {
    const xs = r.throughput[way];
    if (xs.length > 0) {
      lines.push(`| ${WAY_LABELS[way]} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} |`);
    }
  }
  if (r.transferError) lines.push('', `- throughput error: ${r.transferError}`);
  if (leakNotes.length > 0) {
    lines.push('', `berthd left ${leakNotes.length} resource(s) behind after SIGTERM: ${leakNotes.join('; ')}`);
  }
  lines.push('', 'Targets (issue 4):');
  if (r.none && r.bridge) {
    const added = r.bridge.median - r.none.median;
    lines.push(`- added start latency of the bridge (median − median) ≤ ${ADDED_LATENCY_TARGET_S * 1000} ms: ${added <= ADDED_LATENCY_TARGET_S ? 'met' : 'MISSED'} (${(added * 1000).toFixed(1)} ms)`);
  } else {
    lines.push(`- added start latency of the bridge ≤ ${ADDED_LATENCY_TARGET_S * 1000} ms: not measured`);
  }
  const proxy = r.throughput.proxy;
  const direct = r.throughput.direct;
  if (proxy.length > 0 && direct.length > 0 && proxy.length === direct.length && !r.transferError) {
    const ratio = median(proxy) / median(direct);
    lines.push(`- published port ≥ ${THROUGHPUT_RATIO_TARGET * 100} % of direct (medians): ${ratio >= THROUGHPUT_RATIO_TARGET ? 'met' : 'MISSED'} (${(ratio * 100).toFixed(0)} %)`);
  } else {
    lines.push(`- published port ≥ ${THROUGHPUT_RATIO_TARGET * 100} % of direct: not measured`);
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  for (const [name, v, min] of [['--runs', RUNS, 1], ['--warmup', WARMUP, 0], ['--transfers', TRANSFERS, 1], ['--bytes', BYTES, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  }
  const results: Results = { throughput: { proxy: [], direct: [] } };
  await bench(results);
  const text = report(results);
  process.stdout.write(`\n${text}`);
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, text);
  process.stdout.write(`\nwritten to ${opts.out}\n`);
  if (results.startError !== undefined || results.transferError !== undefined) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`network: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
