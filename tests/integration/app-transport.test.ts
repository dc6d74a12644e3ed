import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { INVOKE_CHANNELS } from '../../electron/shared/bridge.js';
import { connectBridge } from '../support/bridge-client.js';
import { useApp } from '../support/app.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    })
      .on('error', reject)
      .end();
  });
}

function upgrade(url: string, headers: Record<string, string> = {}): Promise<'open' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(0));
  });
}

describe('the app local server and its engine connection', () => {
  const daemon = useDaemon({ image: 'oci' });
  const app = useApp(daemon);

  it('is bound to loopback, and the bridge needs the token and the page origin', async () => {
    const { server } = app().app;
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const base = server.origin.replace('http:', 'ws:');
    expect(await upgrade(`${base}/bridge?token=${server.token}`)).toBe('open');
    expect(await upgrade(`${base}/bridge?token=${server.token}`, { Origin: server.origin })).toBe('open');
    expect(await upgrade(`${base}/bridge`)).toBe(403);
    expect(await upgrade(`${base}/bridge?token=${server.token.slice(0, -1)}x`)).toBe(403);
    expect(await upgrade(`${base}/bridge?token=${server.token}`, { Origin: 'http://evil.example' })).toBe(403);
    expect(await upgrade(`${base}/elsewhere?token=${server.token}`)).toBe(403);
  });

  it('serves the page with a CSP, and nothing outside the renderer folder', async () => {
    const { server } = app().app;
    const page = await get(`${server.origin}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="app">');
    expect(String(page.headers['content-security-policy'])).toContain("default-src 'self'");
    expect((await get(`${server.origin}/../package.json`)).status).toBe(404);
    expect((await get(`${server.origin}/%2e%2e/%2e%2e/package.json`)).status).toBe(404);
    expect((await get(`${server.origin}/download/abc`)).status).toBe(403);
    expect((await get(`${server.origin}/download/abc?token=${server.token}`)).status).toBe(404);
  });

  it('has exactly one handler for every channel the contract declares', () => {
    expect([...app().app.registry.registered()].sort()).toEqual([...INVOKE_CHANNELS].sort());
  });

  it('answers unknown channels and bad arguments with errors, not crashes', async () => {
    const { bridge } = app();
    await expect(bridge.invoke('nope:never' as 'app:info', undefined)).rejects.toMatchObject({ code: 'unknown-channel' });
    await expect(bridge.invoke('containers:inspect', { id: 42 } as unknown as { id: string })).rejects.toMatchObject({ code: 'invalid-argument', message: 'id must be a string' });
    await expect(bridge.invoke('containers:inspect', { id: 'no-such-container' })).rejects.toMatchObject({ code: 'not-found', status: 404 });
    expect((await bridge.invoke('app:info', undefined)).mode).toBe('browser');
  });

  it('closes a socket that sends a malformed message and keeps serving others', async () => {
    const { server } = app().app;
    const ws = new WebSocket(`${server.origin.replace('http:', 'ws:')}/bridge?token=${server.token}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(Buffer.from([0, 0, 0, 50, 1, 2]));
    expect(await closed).toBe(1007);
    expect((await app().bridge.invoke('connection:status', undefined)).state).toBe('connected');
  });

  it('pushes engine events to every connected client', async () => {
    const second = await connectBridge(app().app.server.url);
    try {
      const seen = [app().bridge, second].map((b) => b.next('engine:event', (e) => e.type === 'container' && e.action === 'create' && e.name === 'evt'));
      const r = await daemon().docker(['create', '--name', 'evt', TEST_IMAGE, 'true']);
      expect(r.code, r.stderr).toBe(0);
      for (const event of await Promise.all(seen)) expect(event.id).toBe(r.stdout.trim());
    } finally {
      await second.close();
    }
  });

  it('reports a lost engine with the retry time, reconnects with backoff and resumes events', async () => {
    const { bridge, app: a } = app();
    const lost = bridge.next('connection:changed', (s) => s.state === 'disconnected', 30_000);
    await daemon().stop('SIGTERM');
    const status = await lost;
    expect(status.error).toBeTruthy();
    expect(status.retryInMs).toBeGreaterThan(0);
    await expect(bridge.invoke('containers:list', undefined)).rejects.toMatchObject({ code: 'engine-unreachable' });
    const back = bridge.next('connection:changed', (s) => s.state === 'connected', 60_000);
    await daemon().restart();
    expect((await back).engine?.isBerth).toBe(true);
    expect(a.engine.status.state).toBe('connected');
    const event = bridge.next('engine:event', (e) => e.action === 'create' && e.name === 'after-restart');
    const r = await daemon().docker(['create', '--name', 'after-restart', TEST_IMAGE, 'true']);
    expect(r.code, r.stderr).toBe(0);
    expect((await event).id).toBe(r.stdout.trim());
  });
});
