import type { AppInfo, ConnectionTarget } from '../../shared/bridge.js';
import { EngineConnection } from '../engine/connection.js';
import { SERVICES } from '../services/index.js';
import { startLocalServer, type LocalServer } from '../transport/local-server.js';
import { ClientSet, HandlerRegistry } from '../transport/registry.js';
import { SettingsStore } from './settings-store.js';

export interface BerthAppOptions {
  readonly mode: AppInfo['mode'];
  /** Overrides the saved connection (`--socket`, tests). */
  readonly target?: ConnectionTarget;
  /** Where settings live; undefined keeps them in memory only (tests). */
  readonly settingsPath?: string;
  /** The built renderer to serve in browser mode. */
  readonly staticDir?: string;
  readonly port?: number;
  readonly token?: string;
  readonly version?: string;
  readonly vmAvailable?: boolean;
}

export interface BerthApp {
  readonly server: LocalServer;
  readonly engine: EngineConnection;
  readonly registry: HandlerRegistry;
  readonly clients: ClientSet;
  readonly settings: SettingsStore;
  close(): Promise<void>;
}

/**
 * The composition root of the main process: settings, the engine connection, every service
 * and the local server, wired together. Electron (electron/main.ts) and browser mode
 * (cli/start.ts) both start the app through here; Electron adds its IPC transport on top.
 */
export async function startBerthApp(opts: BerthAppOptions): Promise<BerthApp> {
  const settings = new SettingsStore(opts.settingsPath);
  await settings.load();
  const target = opts.target ?? settings.current.connection;
  const engine = new EngineConnection(target);
  const registry = new HandlerRegistry();
  const clients = new ClientSet();
  const server = await startLocalServer({
    registry,
    clients,
    ...(opts.staticDir === undefined ? {} : { staticDir: opts.staticDir }),
    ...(opts.port === undefined ? {} : { port: opts.port }),
    ...(opts.token === undefined ? {} : { token: opts.token }),
  });
  const appInfo: AppInfo = {
    version: opts.version ?? '0.1.0',
    mode: opts.mode,
    platform: process.platform,
    vmAvailable: opts.vmAvailable ?? false,
  };
  for (const register of SERVICES) register({ registry, engine, clients, settings, downloads: server.downloads, appInfo });

  engine.onStatus((status) => clients.broadcast('connection:changed', status));
  engine.onEvent((event) => clients.broadcast('engine:event', event));
  settings.onChange((next) => clients.broadcast('settings:changed', next));
  await engine.connect(target);

  return {
    server,
    engine,
    registry,
    clients,
    settings,
    async close() {
      engine.close();
      await server.close();
    },
  };
}
