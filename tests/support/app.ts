import { afterAll, beforeAll } from 'vitest';
import { startBerthApp, type BerthApp } from '../../electron/main/app/berth-app.js';
import { connectBridge, type NodeBridge } from './bridge-client.js';
import type { Daemon } from './daemon.js';
import { REPO_ROOT } from './paths.js';
import { join } from 'node:path';

export const RENDERER_DIST = join(REPO_ROOT, 'renderer', 'dist');

export interface AppUnderTest {
  readonly app: BerthApp;
  /** A Node bridge client connected to the app's local server. */
  readonly bridge: NodeBridge;
}

/**
 * The app's main-process services (browser mode, in this test process) connected to the
 * test's berthd, with a bridge client: `const app = useApp(daemon);` after `useDaemon()`.
 * Settings stay in memory. Closed in afterAll before the daemon stops.
 */
export function useApp(daemon: () => Daemon): () => AppUnderTest {
  let current: AppUnderTest | undefined;
  beforeAll(async () => {
    const app = await startBerthApp({ mode: 'browser', target: { kind: 'local', socketPath: daemon().socket }, staticDir: RENDERER_DIST });
    if (app.engine.status.state !== 'connected') throw new Error(`the app did not connect: ${app.engine.status.error ?? ''}`);
    current = { app, bridge: await connectBridge(app.server.url) };
  });
  afterAll(async () => {
    await current?.bridge.close();
    await current?.app.close();
  });
  return () => {
    if (current === undefined) throw new Error('useApp(): the app starts in beforeAll');
    return current;
  };
}
