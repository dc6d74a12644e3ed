import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { TestNetwork } from './netns.js';

/**
 * Makes a Unix-socket server reachable as `127.0.0.1:<port>` both from the test process and
 * from inside a test network namespace (where berthd runs), with the SAME port on both sides,
 * so one name (`127.0.0.1:<port>/team/app`) means the same thing to the test and to berthd.
 *
 *   test process ── 127.0.0.1:P (in-process listener) ──┐
 *                                                        ├─► unix socket ─► the server
 *   berth-t-<rand> ─ 127.0.0.1:P (nsenter'd node relay) ─┘
 *
 * Unix sockets are not bound to a network namespace, so the server itself runs anywhere.
 * P is picked free on the host's loopback and held there; the fresh namespace has nothing but
 * the harness's relays listening, so P is free in it too. The relay process exits when its
 * stdin closes, i.e. at the latest when the test process dies.
 */
export interface LoopbackBridge {
  /** The port, the same on both sides. */
  readonly port: number;
  /** Stops both listeners, cuts open connections and waits for the relay process to exit. */
  close(): Promise<void>;
}

/** Relay run inside the namespace: argv[1] = JSON [{ port, path }]; prints `ready` once listening. */
const RELAY_SCRIPT = `
const net = require('node:net');
const maps = JSON.parse(process.argv[1]);
let pending = maps.length;
for (const m of maps) {
  const server = net.createServer((c) => {
    const u = net.connect(m.path);
    c.pipe(u); u.pipe(c);
    c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
    c.on('close', () => u.destroy()); u.on('close', () => c.destroy());
  });
  server.on('error', (e) => { process.stderr.write('relay: ' + e.message + '\\n'); process.exit(1); });
  server.listen(m.port, '127.0.0.1', () => { if (--pending === 0) process.stdout.write('ready\\n'); });
}
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
`;

/** Relay processes still running: killed if the test process exits first. */
const liveRelays = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveRelays) child.kill('SIGKILL');
});

/** Bridges each Unix socket in `paths` (in order) to a loopback port; see LoopbackBridge. */
export async function bridgeLoopback(paths: readonly string[], netns: TestNetwork | undefined): Promise<LoopbackBridge[]> {
  const hostSide: HostListener[] = [];
  try {
    for (const path of paths) hostSide.push(await listenOnHost(path));
    const relay = netns === undefined ? undefined : await startRelay(netns, hostSide.map((h, i) => ({ port: h.port, path: paths[i] as string })));
    let relayClosed: Promise<void> | undefined;
    const closeRelay = (): Promise<void> => (relayClosed ??= relay === undefined ? Promise.resolve() : stopRelay(relay));
    return hostSide.map((h) => ({
      port: h.port,
      close: async () => {
        await Promise.all([h.close(), closeRelay()]);
      },
    }));
  } catch (err) {
    await Promise.all(hostSide.map((h) => h.close()));
    throw err;
  }
}

interface HostListener {
  readonly port: number;
  close(): Promise<void>;
}

async function listenOnHost(path: string): Promise<HostListener> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((c) => {
    const u = connect(path);
    sockets.add(c).add(u);
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
    c.on('close', () => {
      u.destroy();
      sockets.delete(c);
    });
    u.on('close', () => {
      c.destroy();
      sockets.delete(u);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('loopback bridge: no TCP address');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function startRelay(netns: TestNetwork, maps: readonly { port: number; path: string }[]): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${netns.path}`, '--', process.execPath, '-e', RELAY_SCRIPT, JSON.stringify(maps)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  liveRelays.add(child);
  child.once('exit', () => liveRelays.delete(child));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(new Error('timed out')), 10_000);
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`loopback relay in ${netns.name} did not start: ${err.message} ${output.trim()}`));
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!settled && output.includes('ready\n')) {
        settled = true;
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`exited with code ${String(code)}`)));
  });
  return child;
}

async function stopRelay(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}
