import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../support/command.js';
import { startDaemon } from '../support/daemon.js';
import { assertNoLeaks, snapshotResources } from '../support/leaks.js';
import { BERTHD_BIN } from '../support/paths.js';
import { useDaemon } from '../support/suite.js';

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function raw(socketPath: string, method: string, path: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('berthd serves the Docker Engine API', () => {
  const daemon = useDaemon();

  it('docker version reports API 1.43 on linux', async () => {
    const r = await daemon().docker(['version', '--format', '{{json .Server}}']);
    expect(r.code, r.stderr).toBe(0);
    const server = JSON.parse(r.stdout) as { ApiVersion?: string; Os?: string };
    expect(server.ApiVersion).toBe('1.43');
    expect(server.Os).toBe('linux');
  });

  it.each([
    ['GET', '/_ping'],
    ['HEAD', '/_ping'],
    ['GET', '/v1.43/_ping'],
  ])('%s %s answers OK with the Docker headers', async (method, path) => {
    const res = await raw(daemon().socket, method, path);
    expect(res.status).toBe(200);
    if (method === 'GET') expect(res.body).toBe('OK');
    expect(res.headers['api-version']).toBe('1.43');
    expect(res.headers['ostype']).toBe('linux');
    expect(res.headers['docker-experimental']).toBe('false');
    expect(res.headers['builder-version']).toBe('1');
  });

  it('makes its socket mode 0600, owned by root', async () => {
    const st = await stat(daemon().socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(0);
  });
});

describe('berthd command line', () => {
  it('--help prints the usage and exits 0', async () => {
    const r = await runCommand(process.execPath, [BERTHD_BIN, '--help'], { timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout + r.stderr;
    expect(text).toMatch(/Usage: berthd/);
    for (const flag of ['--socket', '--data-root', '--exec-root', '--cgroup-parent']) expect(text).toContain(flag);
  });

  it('refuses an unknown flag with a clear error and a non-zero exit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-flag-'));
    try {
      const socket = join(dir, 'berth.sock');
      const r = await runCommand(
        process.execPath,
        [BERTHD_BIN, '--bogus', '--socket', socket, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec')],
        { timeoutMs: 20_000 },
      );
      expect(r.code).not.toBe(0);
      expect(r.timedOut).toBe(false);
      expect(r.stderr).toMatch(/--bogus/);
      expect(r.stderr).toMatch(/usage/i);
      expect(existsSync(socket)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('berthd shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s stops it with exit code 0 and leaves nothing behind', async (signal) => {
    const before = await snapshotResources();
    const d = await startDaemon();
    try {
      const exit = await d.stop(signal);
      expect(exit, d.logs()).toEqual({ code: 0, signal: null });
      await assertNoLeaks(before, d);
    } finally {
      await d.stop('SIGKILL');
      await d.removeRoots();
    }
  });

  it('starts again on the same roots', async () => {
    const before = await snapshotResources();
    const d = await startDaemon();
    try {
      const firstPid = d.pid;
      await d.restart();
      expect(d.pid).not.toBe(firstPid);
      const r = await d.docker(['version', '--format', '{{.Server.APIVersion}}']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('1.43');
      expect(await d.stop('SIGTERM'), d.logs()).toEqual({ code: 0, signal: null });
      await assertNoLeaks(before, d);
    } finally {
      await d.stop('SIGKILL');
      await d.removeRoots();
    }
  });
});
