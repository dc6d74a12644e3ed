import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ConnectionTarget } from '../../shared/bridge.js';
import { startBerthApp } from '../app/berth-app.js';

/**
 * Browser mode: the main-process services and the local server, without Electron. `npm start`
 * runs this where Electron cannot (no display, no Electron binary), prints the URL, and keeps
 * running until SIGINT/SIGTERM.
 *
 *   node electron/dist/main/cli/start.js [--socket PATH] [--port N] [--settings FILE]
 */
const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '..', '..', '..', '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string' },
      docker: { type: 'string' },
      port: { type: 'string' },
      settings: { type: 'string' },
      'static-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write('usage: berth-app [--socket PATH (berthd)] [--docker PATH (any Docker socket)] [--port N] [--settings FILE]\n');
    return;
  }
  let target: ConnectionTarget | undefined;
  if (values.socket !== undefined) target = { kind: 'local', socketPath: resolve(values.socket) };
  if (values.docker !== undefined) target = { kind: 'socket', socketPath: resolve(values.docker) };
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new Error(`--port ${values.port}: not a port number`);

  const app = await startBerthApp({
    mode: 'browser',
    ...(target === undefined ? {} : { target }),
    settingsPath: values.settings ?? join(homedir(), '.berth', 'settings.json'),
    staticDir: values['static-dir'] ?? join(REPO, 'renderer', 'dist'),
    ...(port === undefined ? {} : { port }),
  });
  const status = app.engine.status;
  process.stdout.write(`Berth is running in browser mode. Open:\n\n  ${app.server.url}\n\n`);
  process.stdout.write(status.state === 'connected' ? `Engine: ${status.engine?.name ?? ''} ${status.engine?.version ?? ''}\n` : `Engine: not connected yet (${status.error ?? status.state}); retrying\n`);

  const stop = () => {
    void app.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`berth-app: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
