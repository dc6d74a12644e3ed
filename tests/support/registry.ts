import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { runCommand } from './command.js';
import { bridgeLoopback, type LoopbackBridge } from './loopback-bridge.js';
import type { TestNetwork } from './netns.js';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './registry-token-server.js';

/**
 * A real registry (Debian's `docker-registry`, distribution 2.8) for a test, reachable as
 * `127.0.0.1:<port>` from the test process AND from inside berthd's network namespace:
 *
 *   const daemon = useDaemon({ image: 'oci' });
 *   const registry = useRegistry(() => ({ netns: daemon().netns, auth: { username: 'u', password: 'p' } }));
 *   it('logs in', async () => {
 *     const r = await daemon().docker(['login', registry().host, '-u', 'u', '--password-stdin'], { input: 'p' });
 *     expect(r.stdout).toContain('Login Succeeded');
 *   });
 *
 * or, outside vitest hooks, `const reg = await startRegistry({...}); try {...} finally { await reg.stop(); }`.
 *
 *   <tmp>/berth-registry-XXXXXX/    root (removed by stop())
 *     config.yml  htpasswd          the registry's configuration
 *     storage/                      its filesystem storage
 *     registry.sock  token.sock     where the registry and the token server listen
 *     token-key.pem  token-cert.pem the token signing key and the registry's rootcertbundle
 *
 * Both servers listen on Unix sockets, which loopback-bridge.ts exposes as 127.0.0.1:<port>
 * with the same port in the test process and in `netns` (a small relay process there), so an
 * image name like `127.0.0.1:<port>/team/app` works for the test and for berthd alike. Plain
 * HTTP: berthd treats loopback registries as insecure, as Docker does.
 *
 *   auth   `{ username, password }`: htpasswd (bcrypt, `htpasswd -Bbn`), answered with
 *          `WWW-Authenticate: Basic realm="berth-test-registry"`.
 *   token  `{ username, password, expiresInSeconds?, anonymousPull? }`: `auth: token:` with a
 *          real token server (registry-token-server.ts); `registry.token.requests` lists the
 *          token requests it answered, to count them.
 *   none   anyone may pull and push.
 *
 * stop() kills the registry and the relay and removes the root; useRegistry() calls it in
 * afterAll even when tests failed. Declare useRegistry() AFTER useDaemon(): vitest runs
 * afterAll hooks in reverse, so the relay leaves berthd's namespace before the daemon's leak
 * check looks there. Processes left at test-process exit are SIGKILLed.
 */
export interface RegistryOptions {
  /** berthd's namespace (`daemon().netns`); undefined: reachable from the test process only. */
  readonly netns?: TestNetwork;
  /** htpasswd authentication with this one user. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Token authentication through a test token server. Exclusive with `auth`. */
  readonly token?: TokenServerOptions;
}

export interface TestRegistry {
  /** `127.0.0.1:<port>`: the registry's name in image references and for `docker login`. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The temp dir holding its configuration and storage. */
  readonly root: string;
  /** The token server, with `token` authentication. */
  readonly token: TokenServer | undefined;
  /** Everything the registry wrote (its access log included). */
  logs(): string;
  /** Kills the registry and the relay, closes the token server, removes the root. Idempotent. */
  stop(): Promise<void>;
}

/** Registries still running: killed if the test process exits first. */
const liveRegistries = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveRegistries) child.kill('SIGKILL');
});

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  if (opts.auth !== undefined && opts.token !== undefined) throw new Error('startRegistry: choose auth (htpasswd) or token, not both');
  const root = await mkdtemp(join(process.env.BERTH_TEST_TMPDIR ?? tmpdir(), 'berth-registry-'));
  const cleanups: (() => Promise<void>)[] = [async () => rm(root, { recursive: true, force: true })];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const registrySocket = join(root, 'registry.sock');
    const tokenSocket = join(root, 'token.sock');
    let token: TokenServer | undefined;
    if (opts.token !== undefined) {
      token = await startTokenServer(root, tokenSocket, opts.token);
      const server = token;
      cleanups.push(() => server.close());
    }
    const bridges: LoopbackBridge[] = await bridgeLoopback(token === undefined ? [registrySocket] : [registrySocket, tokenSocket], opts.netns);
    cleanups.push(async () => {
      await Promise.all(bridges.map((b) => b.close()));
    });
    const [registryBridge, tokenBridge] = bridges as [LoopbackBridge, LoopbackBridge | undefined];

    let authSection = '';
    if (opts.auth !== undefined) {
      const made = await runCommand('htpasswd', ['-Bbn', opts.auth.username, opts.auth.password], { timeoutMs: 20_000 });
      if (made.code !== 0) throw new Error(`htpasswd -Bbn failed (is apache2-utils installed?): ${made.stderr.trim()}`);
      await writeFile(join(root, 'htpasswd'), made.stdout.trim() + '\n');
      authSection = `auth:\n  htpasswd:\n    realm: berth-test-registry\n    path: ${join(root, 'htpasswd')}\n`;
    } else if (token !== undefined && tokenBridge !== undefined) {
      authSection =
        `auth:\n  token:\n    realm: http://127.0.0.1:${tokenBridge.port}/token\n    service: ${token.service}\n` +
        `    issuer: ${token.issuer}\n    rootcertbundle: ${token.certificatePath}\n`;
    }
    const config =
      'version: 0.1\n' +
      'log:\n  level: info\n' +
      `storage:\n  filesystem:\n    rootdirectory: ${join(root, 'storage')}\n  delete:\n    enabled: true\n` +
      `http:\n  net: unix\n  addr: ${registrySocket}\n  secret: ${randomBytes(16).toString('hex')}\n` +
      authSection;
    await writeFile(join(root, 'config.yml'), config);

    const output: string[] = [];
    const child = spawn('docker-registry', ['serve', join(root, 'config.yml')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    liveRegistries.add(child);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (err) => {
        output.push(`[test harness] could not spawn docker-registry (apt-get install docker-registry): ${err.message}\n`);
        resolve();
      });
    }).finally(() => liveRegistries.delete(child));
    const collect = (chunk: Buffer): void => void output.push(chunk.toString('utf8'));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    cleanups.push(async () => {
      if (liveRegistries.has(child)) child.kill('SIGKILL');
      await exited;
    });
    await waitForRegistry(registrySocket, exited, () => output.join(''));

    const host = `127.0.0.1:${registryBridge.port}`;
    let stopping: Promise<void> | undefined;
    return {
      host,
      url: `http://${host}`,
      root,
      token,
      logs: () => output.join(''),
      stop: () => (stopping ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Starts a registry in beforeAll (options read then, so they may use `daemon()`) and stops it
 * in afterAll. Declare it after useDaemon() (see above).
 */
export function useRegistry(opts: () => RegistryOptions = () => ({})): () => TestRegistry {
  let registry: TestRegistry | undefined;
  beforeAll(async () => {
    registry = await startRegistry(opts());
  });
  afterAll(async () => {
    await registry?.stop();
  });
  return () => {
    if (registry === undefined) throw new Error('useRegistry(): the registry starts in beforeAll; use it inside tests or hooks');
    return registry;
  };
}

/** Waits until `GET /v2/` on the socket gets any HTTP answer (200, or 401 with auth). */
async function waitForRegistry(socketPath: string, exited: Promise<void>, logs: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`docker-registry exited before answering; its output:\n${logs()}`);
    if (await answers(socketPath)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer within 20 s; its output:\n${logs()}`);
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/v2/', method: 'GET', timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
