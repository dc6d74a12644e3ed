import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { DOCKER_CLI } from '../support/paths.js';
import { useDaemon } from '../support/suite.js';

interface FeedTick {
  time: string;
  containers: { id: string; name: string; cpuPercent: number; memoryUsage: number; memoryLimit: number; pids: number; blkioRead: number; blkioWrite: number; netRx: number; netTx: number }[];
}

/** Reads `count` newline-terminated JSON lines from a streamed GET on the socket, then hangs up. */
function readLines<T>(socketPath: string, path: string, count: number, timeoutMs = 15_000): Promise<{ status: number; type: string; lines: T[] }> {
  return new Promise((resolve, reject) => {
    const lines: T[] = [];
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      let buffered = '';
      res.setEncoding('utf8');
      const finish = (): void => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), lines });
      };
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim() !== '') lines.push(JSON.parse(line) as T);
          if (lines.length >= count) return finish();
        }
      });
      res.on('end', () => {
        if (buffered.trim() !== '') lines.push(JSON.parse(buffered) as T); // an error body has no newline
        finish();
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`timed out after ${lines.length} of ${count} lines from ${path}`));
    }, timeoutMs);
    req.on('error', (err) => {
      if (lines.length < count) reject(err);
    });
    req.end();
  });
}

describe('observing containers: stats, top, events, diff', () => {
  const daemon = useDaemon({ image: 'oci' });
  const docker = (...args: string[]) => daemon().docker(args);
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const runs: [string, string[]][] = [
      ['busy', ['sh', '-c', 'while :; do :; done']],
      ['capped', ['sleep', '600']],
      ['idle', ['sleep', '600']],
    ];
    for (const [name, cmd] of runs) {
      const extra = name === 'capped' ? ['--memory', '64m'] : [];
      const r = await docker('run', '-d', '--name', name, '--network', 'none', ...extra, TEST_IMAGE, ...cmd);
      expect(r.code, r.stderr).toBe(0);
      ids[name] = r.stdout.trim();
    }
  });

  afterAll(async () => {
    await docker('rm', '-f', 'busy', 'capped', 'idle');
  });

  describe('docker stats', () => {
    it('--no-stream for one container: a busy loop shows well above 20% CPU', async () => {
      const r = await docker('stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}}', 'busy');
      expect(r.code, r.stderr).toBe(0);
      const m = /^busy ([\d.]+)% (\S+) \/ (\S+)$/.exec(r.stdout.trim());
      expect(m, r.stdout).not.toBeNull();
      expect(Number(m?.[1])).toBeGreaterThan(20);
    });

    it('--no-stream for all running containers, with the --memory limit as the limit', async () => {
      const r = await docker('stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}}');
      expect(r.code, r.stderr).toBe(0);
      const rows = new Map(r.stdout.trim().split('\n').map((l) => [l.split(' ')[0], l] as const));
      expect([...rows.keys()].sort()).toEqual(['busy', 'capped', 'idle']);
      expect(rows.get('capped')).toMatch(/^capped [\d.]+% [\d.]+[KMG]?i?B \/ 64MiB$/);
      expect(rows.get('idle')).toMatch(/^idle 0\.\d\d% /);
      const table = await docker('stats', '--no-stream');
      expect(table.stdout.split('\n')[0]).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    });

    it('--no-stream on a stopped container shows zeros', async () => {
      expect((await docker('create', '--name', 'resting', '--network', 'none', TEST_IMAGE, 'true')).code).toBe(0);
      const r = await docker('stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}', 'resting');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('resting 0.00% 0B / 0B 0');
      await docker('rm', 'resting');
    });

    it('streams: the CLI redraws at least twice, with live numbers', async () => {
      const child = spawn(DOCKER_CLI, ['stats', '--format', '{{.Name}} {{.CPUPerc}}', 'busy', 'idle'], {
        env: { ...process.env, ...daemon().env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const refreshes = (): number => out.split('\x1b[H').length - 1;
      const deadline = Date.now() + 15_000;
      // Two redraws after the busy loop's first delta is in (the first sample has no precpu).
      while (Date.now() < deadline && !(refreshes() >= 4 && /busy [2-9]\d\.\d\d%|busy 1\d\d\.\d\d%/.test(out))) await sleep(100);
      child.kill('SIGKILL');
      expect(refreshes(), `${out}\n${err}`).toBeGreaterThanOrEqual(2);
      expect(out).toMatch(/idle 0\.\d\d%/);
      expect(out).toMatch(/busy (?:[2-9]\d|1\d\d)\.\d\d%/);
    });

    it('dockerode stats({stream: false}) has Docker\'s stats JSON', async () => {
      const stats = await daemon().dockerode.getContainer('capped').stats({ stream: false });
      expect(stats.id).toBe(ids.capped);
      expect(stats.name).toBe('/capped');
      expect(Date.parse(stats.read)).toBeGreaterThan(Date.parse(stats.preread));
      expect(Date.parse(stats.read) - Date.parse(stats.preread)).toBeGreaterThan(500);
      expect(stats.num_procs).toBe(0);
      expect(stats.pids_stats?.current).toBe(1);
      expect(stats.cpu_stats.online_cpus).toBeGreaterThan(0);
      expect(stats.cpu_stats.system_cpu_usage).toBeGreaterThan(stats.precpu_stats.system_cpu_usage);
      expect(stats.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(0);
      expect(stats.cpu_stats.throttling_data).toEqual({ periods: expect.any(Number), throttled_periods: expect.any(Number), throttled_time: expect.any(Number) });
      expect(stats.memory_stats.limit).toBe(64 * 1024 * 1024);
      expect(stats.memory_stats.usage).toBeGreaterThan(0);
      const counters = Object.keys(stats.memory_stats.stats);
      // v1 (these machines) names cache/total_inactive_file; v2 (the VM) anon/file/inactive_file.
      expect(counters.includes('total_inactive_file') || counters.includes('anon')).toBe(true);
      expect(counters).toContain('inactive_file');
      const io = stats.blkio_stats?.io_service_bytes_recursive;
      expect(Array.isArray(io) || io === null).toBe(true);
    });
  });

  it('keeps sampling a container across a restart (its cgroup is made anew)', async () => {
    expect((await docker('restart', '-t', '1', 'capped')).code).toBe(0);
    const r = await docker('stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', 'capped');
    expect(r.stdout.trim()).toMatch(/^capped [\d.]+[KMG]?i?B \/ 64MiB 1$/);
  });

  it('GET /berth/stats streams every running container per tick from one request', async () => {
    const { status, type, lines } = await readLines<FeedTick>(daemon().socket, '/berth/stats?interval=500', 2);
    expect(status).toBe(200);
    expect(type).toBe('application/x-ndjson');
    expect(lines).toHaveLength(2);
    const [first, second] = lines as [FeedTick, FeedTick];
    expect(Date.parse(second.time) - Date.parse(first.time)).toBeGreaterThanOrEqual(400);
    for (const tick of lines) {
      const byName = new Map(tick.containers.map((c) => [c.name, c]));
      expect([...byName.keys()].sort()).toEqual(['busy', 'capped', 'idle']);
      for (const [name, c] of byName) {
        expect(c.id).toBe(ids[name]);
        expect(c.pids).toBe(1);
        expect(c.memoryUsage).toBeGreaterThan(0);
        expect(c.memoryUsage).toBeLessThan(c.memoryLimit);
        expect(c.blkioRead).toBeGreaterThanOrEqual(0);
        expect(c.blkioWrite).toBeGreaterThanOrEqual(0);
      }
      expect(byName.get('capped')?.memoryLimit).toBe(64 * 1024 * 1024);
      expect(byName.get('busy')?.cpuPercent).toBeGreaterThan(20);
      expect(byName.get('idle')?.cpuPercent).toBeLessThan(5);
    }
    const bad = await readLines<{ message: string }>(daemon().socket, '/berth/stats?interval=5', 1);
    expect(bad.status).toBe(400);
    expect(bad.lines[0]?.message).toMatch(/interval/);
  });

  describe('network I/O', () => {
    const MB = 1024 * 1024;
    beforeAll(async () => {
      expect((await docker('network', 'create', 'statnet')).code).toBe(0);
      // The sink takes one connection's bytes and stays up to be sampled (busybox nc ends on
      // stdin EOF, so its stdin is a pipe that stays open).
      const sink = await docker('run', '-d', '--name', 'sink', '--network', 'statnet', TEST_IMAGE, 'sh', '-c', 'sleep 600 | nc -l -p 5000 > /dev/null');
      expect(sink.code, sink.stderr).toBe(0);
      const bridged = await docker('run', '-d', '--name', 'bridged', TEST_IMAGE, 'sleep', '600');
      expect(bridged.code, bridged.stderr).toBe(0);
    });

    afterAll(async () => {
      await docker('rm', '-f', 'sink', 'bridged', 'source');
      await docker('network', 'rm', 'statnet');
    });

    it('~1 MB sent over a user network shows in docker stats NET I/O and in networks.eth0', async () => {
      // Retried until the sink listens; nc -w ends the client once its input is sent.
      const script = `for i in $(seq 1 30); do dd if=/dev/zero bs=1024 count=${MB / 1024} 2>/dev/null | nc -w 2 sink 5000 && exit 0; sleep 0.2; done; exit 1`;
      const send = await docker('run', '--name', 'source', '--network', 'statnet', TEST_IMAGE, 'sh', '-c', script);
      expect(send.code, send.stderr).toBe(0);
      const r = await docker('stats', '--no-stream', '--format', '{{.Name}} {{.NetIO}}', 'sink', 'busy');
      expect(r.code, r.stderr).toBe(0);
      const rows = new Map(r.stdout.trim().split('\n').map((l) => [l.split(' ')[0], l] as const));
      expect(rows.get('sink')).toMatch(/^sink 1\.\d+MB \/ [1-9][\d.]*[kM]?B$/); // the CLI's decimal units
      expect(rows.get('busy')).toBe('busy 0B / 0B'); // --network none: no networks

      const stats = await daemon().dockerode.getContainer('sink').stats({ stream: false });
      expect(Object.keys(stats.networks ?? {})).toEqual(['eth0']);
      expect(stats.networks?.eth0?.rx_bytes).toBeGreaterThan(MB);
      expect(stats.networks?.eth0?.rx_packets).toBeGreaterThan(100);
      expect(stats.networks?.eth0?.tx_bytes).toBeGreaterThan(0);
      expect(Object.keys(stats.networks?.eth0 ?? {}).sort()).toEqual(
        ['rx_bytes', 'rx_dropped', 'rx_errors', 'rx_packets', 'tx_bytes', 'tx_dropped', 'tx_errors', 'tx_packets'],
      );
      const none = await daemon().dockerode.getContainer('idle').stats({ stream: false });
      expect(none).not.toHaveProperty('networks');
    });

    it('a container on the default bridge has eth0 counting a ping of its gateway', async () => {
      const gw = (await docker('inspect', '-f', '{{.NetworkSettings.Gateway}}', 'bridged')).stdout.trim();
      expect(gw).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const ping = await docker('exec', 'bridged', 'ping', '-c', '3', '-s', '1000', '-W', '2', gw);
      expect(ping.code, ping.stdout + ping.stderr).toBe(0);
      const stats = await daemon().dockerode.getContainer('bridged').stats({ stream: false, 'one-shot': true });
      expect(stats.networks?.eth0?.rx_bytes).toBeGreaterThan(3000);
      expect(stats.networks?.eth0?.tx_bytes).toBeGreaterThan(3000);
      expect(stats.networks).not.toHaveProperty('lo');
    });

    it('GET /berth/stats has netRx/netTx totals: the sink\'s MB, 0 for --network none', async () => {
      const { lines } = await readLines<FeedTick>(daemon().socket, '/berth/stats?interval=200', 1);
      const byName = new Map((lines[0]?.containers ?? []).map((c) => [c.name, c]));
      expect(byName.get('sink')?.netRx).toBeGreaterThan(MB);
      expect(byName.get('sink')?.netTx).toBeGreaterThan(0);
      expect(byName.get('bridged')?.netRx).toBeGreaterThan(3000);
      expect(byName.get('idle')).toMatchObject({ netRx: 0, netTx: 0 });
    });
  });

  describe('docker top', () => {
    it('lists the container\'s processes with ps -ef columns', async () => {
      const r = await docker('top', 'idle');
      expect(r.code, r.stderr).toBe(0);
      const [header, ...rows] = r.stdout.trim().split('\n');
      expect(header?.split(/\s+/)).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatch(/^root\s+\d+\s+\d+.*sleep 600$/);
    });

    it('takes ps options; refuses bad ones with ps\'s message and a stopped container with 409', async () => {
      const r = await docker('top', 'busy', '-o', 'pid,comm');
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]?.split(/\s+/)).toEqual(['PID', 'COMMAND']);
      expect(lines[1]).toMatch(/^\d+\s+sh$/);
      const bad = await docker('top', 'busy', '--no-such-option');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/Error response from daemon: ps: error/);
      const res = await fetchStatus(daemon().socket, '/containers/busy/top?ps_args=--no-such-option');
      expect(res).toBe(400);
      await docker('create', '--name', 'not-running', '--network', 'none', TEST_IMAGE, 'true');
      const stopped = await docker('top', 'not-running');
      expect(stopped.stderr).toMatch(/is not running/);
      expect(await fetchStatus(daemon().socket, '/containers/not-running/top')).toBe(409);
      await docker('rm', 'not-running');
    });
  });

  describe('docker events', () => {
    it('replays create/start/die/destroy between --since and --until, in Docker\'s format, and filters', async () => {
      const since = (Date.now() / 1000).toFixed(3);
      await sleep(20);
      const run = await docker('run', '--name', 'eventful', '--network', 'none', TEST_IMAGE, 'true');
      expect(run.code, run.stderr).toBe(0);
      expect((await docker('rm', 'eventful')).code).toBe(0);
      await sleep(20);
      const until = (Date.now() / 1000).toFixed(3);

      const all = await docker('events', '--since', since, '--until', until);
      expect(all.code, all.stderr).toBe(0);
      const lines = all.stdout.trim().split('\n');
      const actions = lines.map((l) => l.split(' ').slice(1, 3).join(' '));
      const lifecycle = ['container create', 'container start', 'container die', 'container destroy'];
      expect(actions.filter((a) => lifecycle.includes(a))).toEqual(lifecycle);
      const id = (lines[0] ?? '').split(' ')[3] ?? '';
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(lines[0]).toMatch(
        new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}(Z|[+-]\\d\\d:\\d\\d) container create ${id} \\(image=berth\\.test/busybox(:latest)?, name=eventful\\)$`),
      );
      expect(lines.find((l) => l.includes(' container die '))).toMatch(/ \((?:\w+=\S*, )*exitCode=0, image=berth\.test\/busybox(:latest)?, name=eventful\)$/);

      const starts = await docker('events', '--since', since, '--until', until, '--filter', 'event=start', '--filter', 'container=eventful');
      expect(starts.stdout.trim().split('\n')).toHaveLength(1);
      expect(starts.stdout).toMatch(/ container start [0-9a-f]{64} \(.*name=eventful\)$/m);
      const none = await docker('events', '--since', since, '--until', until, '--filter', 'container=busy');
      expect(none.stdout.trim()).toBe('');
      const json = await docker('events', '--since', since, '--until', until, '--format', '{{json .}}', '--filter', 'event=destroy');
      expect(JSON.parse(json.stdout.trim())).toMatchObject({ Type: 'container', Action: 'destroy', status: 'destroy', id, scope: 'local', Actor: { ID: id } });
    });

    it('streams live events until --until in the future, and image tag/untag events', async () => {
      // With --until and no --since, Docker replays every event it holds: start from now.
      const since = (Date.now() / 1000).toFixed(3);
      const until = ((Date.now() + 3000) / 1000).toFixed(3);
      const started = Date.now();
      const watching = docker('events', '--since', since, '--until', until, '--filter', 'type=image');
      await sleep(500);
      expect((await docker('tag', TEST_IMAGE, 'observed:v1')).code).toBe(0);
      expect((await docker('rmi', 'observed:v1')).code).toBe(0);
      const r = await watching;
      expect(r.code, r.stderr).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/ image tag sha256:[0-9a-f]{64} \(name=observed:v1\)$/);
      expect(lines[1]).toMatch(/ image untag sha256:[0-9a-f]{64} \(name=observed:v1\)$/);
    });
  });

  it('docker diff lists added, changed and deleted paths, on a stopped container too', async () => {
    const run = await docker('run', '--name', 'changer', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo hi > /new.txt && echo x >> /etc/passwd && rm /bin/vi && mkdir -p /tmp/d && touch /tmp/d/f');
    expect(run.code, run.stderr).toBe(0);
    const r = await docker('diff', 'changer');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['C /bin', 'D /bin/vi', 'C /etc', 'C /etc/passwd', 'A /new.txt', 'C /tmp', 'A /tmp/d', 'A /tmp/d/f']);
    const api = await daemon().dockerode.getContainer('changer').changes();
    expect(api).toContainEqual({ Path: '/new.txt', Kind: 1 });
    expect(api).toContainEqual({ Path: '/etc/passwd', Kind: 0 });
    expect(api).toContainEqual({ Path: '/bin/vi', Kind: 2 });
    await docker('rm', 'changer');
    const fresh = await docker('run', '--name', 'untouched', '--network', 'none', TEST_IMAGE, 'true');
    expect(fresh.code).toBe(0);
    expect((await docker('diff', 'untouched')).stdout).toBe('');
    await docker('rm', 'untouched');
  });
});

function fetchStatus(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
