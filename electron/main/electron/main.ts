import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { app, BrowserWindow } from 'electron';
import type { ConnectionTarget } from '../../shared/bridge.js';
import { startBerthApp, type BerthApp } from '../app/berth-app.js';
import { startIpcTransport, type IpcTransport } from './ipc-transport.js';
import { createMainWindow } from './window.js';

/**
 * The Electron entry: the same services as browser mode (app/berth-app.ts), one window that
 * reaches them through the preload and IPC, and a clean quit (services closed before exit).
 * Dev: `electron electron/dist/main/electron/main.js [--socket PATH]`; packaged by
 * electron-builder (build/electron-builder.json).
 */
const here = dirname(fileURLToPath(import.meta.url));
// electron/dist/main/electron → the electron package, then the repo (or the app.asar root).
const PACKAGE_ROOT = resolve(here, '..', '..', '..');
const PRELOAD = join(PACKAGE_ROOT, 'dist', 'preload', 'preload.cjs');
const RENDERER = app.isPackaged ? join(process.resourcesPath, 'renderer') : join(PACKAGE_ROOT, '..', 'renderer', 'dist');

function targetFromArgs(): ConnectionTarget | undefined {
  const { values } = parseArgs({ args: process.argv.slice(app.isPackaged ? 1 : 2), options: { socket: { type: 'string' } }, strict: false });
  return typeof values.socket === 'string' ? { kind: 'local', socketPath: resolve(values.socket) } : undefined;
}

let berth: BerthApp | undefined;
let transport: IpcTransport | undefined;
let quitting = false;

function openWindow(): void {
  if (berth === undefined || transport === undefined) return;
  const win = createMainWindow({ url: berth.server.url, preloadPath: PRELOAD });
  transport.allow(win.webContents);
}

async function start(): Promise<void> {
  await app.whenReady();
  const target = targetFromArgs();
  berth = await startBerthApp({
    mode: 'electron',
    ...(target === undefined ? {} : { target }),
    settingsPath: join(app.getPath('userData'), 'settings.json'),
    staticDir: RENDERER,
    version: app.getVersion(),
  });
  transport = startIpcTransport({ registry: berth.registry, clients: berth.clients, origin: berth.server.origin });
  openWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) openWindow();
  });
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => BrowserWindow.getAllWindows()[0]?.focus());
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  // Close the services (terminals, follows, the engine connection, the server) before exit.
  app.on('before-quit', (event) => {
    if (quitting || berth === undefined) return;
    event.preventDefault();
    quitting = true;
    transport?.close();
    void berth.close().finally(() => app.quit());
  });
  start().catch((err: unknown) => {
    process.stderr.write(`berth: ${err instanceof Error ? err.message : String(err)}\n`);
    app.exit(1);
  });
}
