import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readlink, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Dockerode from 'dockerode';
import { runCommand, type CommandResult } from './command.js';
import { mountsUnder, reclaimLeaks, snapshotResources, unmountUnder } from './leaks.js';
import { createTestNetwork, netnsId, type TestNetwork } from './netns.js';
import { BERTHD_BIN, BERTHD_MAIN, DOCKER_CLI, REPO_ROOT } from './paths.js';

/**
 * A berthd started for a test: its own temp roots, socket and cgroup parent, driven by the
 * real docker CLI and by dockerode.
 *
 *   <tmp>/berth-test-XXXXXX/      root (cgroup parent: berth-test-XXXXXX)
 *     berth.sock                  the API socket
 *     data/  exec/                --data-root, --exec-root
 *     docker-config/              DOCKER_CONFIG for the CLI (keeps ~/.docker out of it)
 *
 * berthd runs in a network namespace of its own (see netns.ts): by default a new test network
 * made for it (`nsenter --net=/run/netns/berth-t-<rand> node berthd.js ...`), which the daemon
 * owns and removeRoots() deletes, after the leak checks; or one the caller made and closes.
 * Bridges, nftables rules and veths berthd makes thus never reach the machine's interfaces.
 * The CLI and dockerode still reach it through the Unix socket. BERTH_TEST_NETNS=0 runs it in
 * the test process's own namespace instead (debugging only: networking would touch the host).
 *
 * <tmp> is $BERTH_TEST_TMPDIR or the OS temp dir. BERTH_TEST_VERBOSE=1 echoes berthd's log.
 */
export interface Daemon {
  readonly root: string;
  readonly socket: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly cgroupParent: string;
  /** DOCKER_HOST (unix://<socket>) and DOCKER_CONFIG: merge into a child's environment. */
  readonly env: Readonly<Record<string, string>>;
  readonly dockerode: Dockerode;
  /** berthd's pid while it runs (berthd's own: nsenter execs it, so the pid is the same). */
  readonly pid: number | undefined;
  /** The network namespaces berthd runs in; undefined with BERTH_TEST_NETNS=0. */
  readonly netns: TestNetwork | undefined;
  readonly running: boolean;
  /** Runs the real docker CLI against this daemon; never rejects on a non-zero exit. */
  docker(args: readonly string[], opts?: DockerOptions): Promise<CommandResult>;
  /** Everything berthd wrote to stdout and stderr, across restarts. */
  logs(): string;
  /** Sends `signal` and waits for berthd to exit (SIGKILL and reject after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<DaemonExit>;
  /** Stops berthd if it runs (SIGTERM) and starts it again on the same roots. */
  restart(): Promise<void>;
  /**
   * Removes the temp root (refuses while berthd runs or anything is still mounted there) and
   * closes the test network the daemon made for itself. Call it after the leak checks.
   */
  removeRoots(): Promise<void>;
}

export interface DaemonOptions {
  /** Extra berthd arguments. */
  readonly args?: readonly string[];
  /** Extra environment for berthd. */
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for `GET /_ping` to answer OK (default 30 s). */
  readonly startTimeoutMs?: number;
  /** Echo berthd's output to this process's stderr (default: BERTH_TEST_VERBOSE=1). */
  readonly verbose?: boolean;
  /**
   * The network namespace to run berthd in: `'new'` (the default) makes a test network that
   * the daemon owns and removeRoots() closes; a TestNetwork given here stays the caller's to
   * close (after the daemon's leak check). BERTH_TEST_NETNS=0 overrides both.
   */
  readonly netns?: TestNetwork | 'new';
}

export interface DockerOptions {
  /** Written to the CLI's stdin, then closed; without it stdin is /dev/null. */
  readonly input?: string | Buffer;
  /** Extra environment for the CLI. */
  readonly env?: NodeJS.ProcessEnv;
  /** SIGKILL the CLI after this long (default 60 s). */
  readonly timeoutMs?: number;
}

export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Daemons of this process still running: killed if the test process exits first. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts berthd on fresh temp roots and resolves once `GET /_ping` answers OK. */
export async function startDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  if (!existsSync(BERTHD_MAIN)) {
    throw new Error(`berthd is not built (${BERTHD_MAIN} is missing): run \`npm run build\` or scripts/setup.sh`);
  }
  const base = process.env.BERTH_TEST_TMPDIR ?? tmpdir();
  const root = await mkdtemp(join(base, 'berth-test-'));
  const wanted = process.env.BERTH_TEST_NETNS === '0' ? undefined : (opts.netns ?? 'new');
  let netns: TestNetwork | undefined;
  try {
    netns = wanted === 'new' ? await createTestNetwork() : wanted;
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  const daemon = new TestDaemon(root, opts, netns, wanted === 'new');
  const before = await snapshotResources();
  try {
    await Promise.all([mkdir(daemon.dataRoot), mkdir(daemon.execRoot), mkdir(daemon.env.DOCKER_CONFIG as string)]);
    await daemon.start();
  } catch (err) {
    // Whatever a failed start left must not poison the next test.
    await daemon.stop('SIGKILL').catch(() => undefined);
    await reclaimLeaks(before, daemon).catch(() => undefined);
    await daemon.removeRoots().catch(() => undefined);
    throw err;
  }
  return daemon;
}

class TestDaemon implements Daemon {
  readonly socket: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly cgroupParent: string;
  readonly env: Readonly<Record<string, string>>;
  readonly dockerode: Dockerode;
  private child: ChildProcess | undefined;
  private exited: Promise<DaemonExit> = Promise.resolve({ code: null, signal: null });
  private lastExit: DaemonExit | undefined;
  private readonly output: string[] = [];

  constructor(
    readonly root: string,
    private readonly opts: DaemonOptions,
    readonly netns: TestNetwork | undefined,
    /** The daemon made `netns` and closes it in removeRoots(). */
    private readonly ownsNetns: boolean,
  ) {
    this.socket = join(root, 'berth.sock');
    this.dataRoot = join(root, 'data');
    this.execRoot = join(root, 'exec');
    this.cgroupParent = basename(root);
    this.env = { DOCKER_HOST: `unix://${this.socket}`, DOCKER_CONFIG: join(root, 'docker-config') };
    this.dockerode = new Dockerode({ socketPath: this.socket });
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.lastExit === undefined;
  }

  async start(): Promise<void> {
    const args = [
      BERTHD_BIN,
      '--socket', this.socket,
      '--data-root', this.dataRoot,
      '--exec-root', this.execRoot,
      '--cgroup-parent', this.cgroupParent,
      ...(this.opts.args ?? []),
    ];
    if (this.netns?.closed === true) throw new Error(`berthd's test network ${this.netns.name} is closed`);
    // nsenter execs node after setns(), so the child's pid is berthd's from the start.
    const [file, argv] =
      this.netns === undefined
        ? [process.execPath, args]
        : ['nsenter', [`--net=${this.netns.path}`, '--', process.execPath, ...args]];
    const child = spawn(file, argv, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.lastExit = undefined;
    live.add(child);
    const verbose = this.opts.verbose ?? process.env.BERTH_TEST_VERBOSE === '1';
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.output.push(text);
      if (verbose) process.stderr.write(text);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.lastExit = { code, signal };
        resolve(this.lastExit);
      });
      child.once('error', (err) => {
        live.delete(child);
        this.output.push(`[test harness] could not spawn berthd: ${err.message}\n`);
        this.lastExit = { code: null, signal: null };
        resolve(this.lastExit);
      });
    });
    await this.waitForPing(this.opts.startTimeoutMs ?? 30_000);
    if (this.netns !== undefined) await this.checkNetns(child);
  }

  /** The process answering is node (not nsenter) and sits in the test network namespace. */
  private async checkNetns(child: ChildProcess): Promise<void> {
    const netns = this.netns;
    if (netns === undefined || child.pid === undefined) return;
    const pid = child.pid;
    const [exe, ns, want] = await Promise.all([
      readlink(`/proc/${pid}/exe`).catch(() => ''),
      readlink(`/proc/${pid}/ns/net`).catch(() => ''),
      netnsId(netns.path),
    ]);
    if (exe !== process.execPath && basename(exe) !== basename(process.execPath)) {
      throw new Error(`berthd's pid ${pid} runs ${exe || '(gone)'}, not ${process.execPath}`);
    }
    if (ns !== want) throw new Error(`berthd (pid ${pid}) is in network namespace ${ns}, not ${netns.name} (${want})`);
  }

  private async waitForPing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.lastExit !== undefined) {
        throw new Error(`berthd exited (${describeExit(this.lastExit)}) before answering /_ping; its log:\n${this.logs()}`);
      }
      if (await ping(this.socket)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berthd did not answer /_ping within ${timeoutMs} ms; its log:\n${this.logs()}`);
  }

  docker(args: readonly string[], opts: DockerOptions = {}): Promise<CommandResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.env, ...opts.env };
    // A context or TLS settings from the caller's environment must not redirect the CLI.
    for (const key of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION']) {
      if (opts.env?.[key] === undefined) delete env[key];
    }
    return runCommand(DOCKER_CLI, args, { env, input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  logs(): string {
    return this.output.join('');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<DaemonExit> {
    const child = this.child;
    if (child === undefined) return { code: null, signal: null };
    if (this.lastExit !== undefined) return this.lastExit;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      child.kill('SIGKILL');
      await this.exited;
      throw new Error(`berthd did not exit within ${timeoutMs} ms of ${signal}; killed it. Its log:\n${this.logs()}`);
    }
    return outcome;
  }

  async restart(): Promise<void> {
    if (this.running) await this.stop('SIGTERM');
    this.output.push('[test harness] --- restarting berthd on the same roots ---\n');
    await this.start();
  }

  async removeRoots(): Promise<void> {
    if (this.running) throw new Error('removeRoots: berthd is still running');
    try {
      if (process.env.BERTH_TEST_KEEP === '1') return;
      await unmountUnder([this.root]);
      const remaining = await mountsUnder([this.root]);
      if (remaining.length > 0) {
        throw new Error(`removeRoots: still mounted, left ${this.root} in place:\n  ${remaining.join('\n  ')}`);
      }
      await rm(this.root, { recursive: true, force: true });
    } finally {
      if (this.ownsNetns) await this.netns?.close();
    }
  }
}

function describeExit(exit: DaemonExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

/** True when `GET /_ping` on the socket answers 200 `OK`. */
function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 && body === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
