import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerthApp, type BerthApp } from '../../electron/main/app/berth-app.js';
import { connectBridge, type NodeBridge } from '../support/bridge-client.js';
import { fixturePath } from '../support/fixtures.js';
import { REPO_ROOT } from '../support/paths.js';

/**
 * The app is any Docker engine's client, not only berthd's: connected to Debian's real dockerd
 * (in a network namespace of its own, scripts/reference-dockerd.sh), it lists, runs, watches
 * stats through the per-container fallback, follows events and removes.
 */
interface ReferenceDockerd {
  readonly socket: string;
  stop(): Promise<void>;
}

async function startReferenceDockerd(): Promise<ReferenceDockerd> {
  // The shell keeps dockerd until its stdin closes; its EXIT trap removes everything dockerd made.
  const child: ChildProcess = spawn(
    'bash',
    ['-c', 'source scripts/reference-dockerd.sh; trap refd_stop EXIT; refd_start berth-appref || exit 1; echo "READY $REFD_HOST"; read -r _'],
    { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const socket = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /READY unix:\/\/(\S+)/.exec(out);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`reference dockerd did not start (exit ${String(code)})`)));
  });
  return {
    socket,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin?.end();
      }),
  };
}

describe('the app against a real Docker engine (Debian dockerd)', () => {
  let dockerd: ReferenceDockerd | undefined;
  let app: BerthApp | undefined;
  let bridge: NodeBridge | undefined;

  beforeAll(async () => {
    dockerd = await startReferenceDockerd();
    app = await startBerthApp({ mode: 'browser', target: { kind: 'socket', socketPath: dockerd.socket } });
    bridge = await connectBridge(app.server.url);
  }, 90_000);

  afterAll(async () => {
    await bridge?.close();
    await app?.close();
    await dockerd?.stop();
  }, 60_000);

  const b = (): NodeBridge => {
    if (bridge === undefined) throw new Error('not started');
    return bridge;
  };

  it('connects and knows it is not berthd', async () => {
    const status = await b().invoke('connection:status', undefined);
    expect(status.state).toBe('connected');
    expect(status.engine?.isBerth).toBe(false);
    expect(status.engine?.name).not.toBe('berthd');
  });

  it('loads an image, runs a container, watches its stats, sees its events and removes it', async () => {
    const bytes = new Uint8Array(await readFile(fixturePath('dockerSaveTar')));
    const loaded = await b().invoke('images:load', { operation: 'op-load', file: { name: 'busybox.tar', bytes } });
    expect(loaded.loaded.join(' ')).toContain('berth.test/busybox');

    const started = b().next('engine:event', (e) => e.type === 'container' && e.action === 'start' && e.name === 'app-ref');
    const { id } = await b().invoke('containers:run', { image: 'berth.test/busybox:latest', name: 'app-ref', command: ['sleep', '300'], network: 'none' });
    expect((await started).id).toBe(id);
    const listed = await b().invoke('containers:list', undefined);
    expect(listed.find((c) => c.id === id)?.state).toBe('running');

    const subscription = 'stats-ref';
    const samples = b().next('stats:samples', (p) => p.subscription === subscription && p.samples.some((s) => s.id === id && s.memoryUsage > 0), 30_000);
    await b().invoke('stats:watch', { subscription, ids: [id], intervalMs: 1000 });
    const tick = await samples;
    expect(tick.samples.map((s) => s.id)).toEqual([id]);
    await b().invoke('subscription:close', { subscription });

    // The file browser is berthd's own API: on Docker it says so instead of failing obscurely.
    await expect(b().invoke('files:list', { root: { kind: 'container', id }, path: '/' })).rejects.toThrow(/needs berthd/);

    const result = await b().invoke('containers:action', { ids: [id], action: 'remove' });
    expect(result.failed).toEqual([]);
    expect((await b().invoke('containers:list', undefined)).some((c) => c.id === id)).toBe(false);
  });
});
