import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readlink, stat } from 'node:fs/promises';
import { runCommand, type CommandOptions, type CommandResult } from './command.js';

/**
 * A pair of network namespaces made for one test, so berthd's bridges, nftables table, veths
 * and container traffic never touch the machine's real interfaces:
 *
 *   berth-t-<rand>  berthd's namespace          berth-o-<rand>  "the outside world"
 *   ┌──────────────────────────────┐            ┌──────────────────────────────┐
 *   │ lo                           │            │ lo                           │
 *   │ to-outside  10.250.X.Y+2/30 ─┼── veth ────┼─ to-berthd  10.250.X.Y+1/30  │
 *   │ default via 10.250.X.Y+1     │            │                              │
 *   └──────────────────────────────┘            └──────────────────────────────┘
 *
 * The /30 is picked at random in 10.250.0.0/16 (distinct within this process). Both namespaces
 * are entered with `nsenter --net=/run/netns/NAME`, never `ip netns exec` (which remounts /sys
 * and hides the cgroup v1 mounts). net.ipv4.ip_forward is left as a new namespace has it (0):
 * turning it on is berthd's business.
 *
 *   const net = await createTestNetwork();
 *   try {
 *     const server = net.spawnOutside(['busybox', 'httpd', '-f', '-p', `${net.outsideAddress}:8080`]);
 *     await net.exec(['busybox', 'nc', '-w', '3', net.outsideAddress, '8080'], { input: 'GET / ...' });
 *   } finally {
 *     await net.close(); // kills what runs in either namespace, deletes both
 *   }
 */
export interface TestNetwork {
  /** berthd's namespace (`berth-t-<rand>`). */
  readonly name: string;
  /** The outside world's namespace (`berth-o-<rand>`). */
  readonly outsideName: string;
  /** /run/netns/<name>: pass to `nsenter --net=`. */
  readonly path: string;
  readonly outsidePath: string;
  /** The veth end in berthd's namespace and its address (no prefix). */
  readonly insideLink: string;
  readonly insideAddress: string;
  /** The veth end in the outside namespace and its address: berthd's default gateway. */
  readonly outsideLink: string;
  readonly outsideAddress: string;
  /** Prefix length of the link's subnet (30). */
  readonly prefixLength: number;
  /** True once close() started. */
  readonly closed: boolean;
  /** Runs a command to completion in berthd's namespace (never rejects; see runCommand). */
  exec(args: readonly string[], opts?: CommandOptions): Promise<CommandResult>;
  /** Runs a command to completion in the outside namespace. */
  execOutside(args: readonly string[], opts?: CommandOptions): Promise<CommandResult>;
  /** Starts a long-running process (a server) in the outside namespace; close() kills it. */
  spawnOutside(args: readonly string[], opts?: SpawnOutsideOptions): OutsideProcess;
  /**
   * Kills every process still in either namespace (and those spawnOutside started), then
   * deletes both namespaces. Idempotent; concurrent calls share one teardown.
   */
  close(): Promise<void>;
}

export interface SpawnOutsideOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** A process started by spawnOutside. Its stdout and stderr are collected (output()). */
export interface OutsideProcess {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  /** Resolves when it exited (or could not be spawned). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote so far to stdout and stderr. */
  output(): string;
  /** SIGKILLs it (if still running) and waits for it to exit. */
  kill(): Promise<void>;
}

const NETNS_DIR = '/run/netns';
const INSIDE_LINK = 'to-outside';
const OUTSIDE_LINK = 'to-berthd';
const PREFIX_LENGTH = 30;
const NAME_PREFIX_INSIDE = 'berth-t-';
const NAME_PREFIX_OUTSIDE = 'berth-o-';

/** Every namespace name this process created (open or closed): see isForeignTestNetns. */
const createdNames = new Set<string>();
/** /30 blocks (index in 10.250.0.0/16) in use by this process's open networks. */
const usedBlocks = new Set<number>();
/** Open networks, closed synchronously if this process exits first. */
const open = new Set<NetworkImpl>();

process.once('exit', () => {
  for (const net of open) net.closeSync();
});

/** Makes both namespaces, the veth between them, their addresses and berthd's default route. */
export async function createTestNetwork(): Promise<TestNetwork> {
  const net = new NetworkImpl();
  open.add(net);
  try {
    await net.setUp();
  } catch (err) {
    await net.close();
    throw err;
  }
  return net;
}

/**
 * True for a test-network namespace name that this process did not create: one from another
 * test run on the same machine, which host-level leak checks must not count.
 */
export function isForeignTestNetns(name: string): boolean {
  return (name.startsWith(NAME_PREFIX_INSIDE) || name.startsWith(NAME_PREFIX_OUTSIDE)) && !createdNames.has(name);
}

/** `net:[inode]`-style identity of a namespace file, as /proc/PID/ns/net reads. */
export async function netnsId(path: string): Promise<string> {
  return `net:[${(await stat(path)).ino}]`;
}

/** Pids of the processes (other than this one) whose network namespace is the one at `path`. */
export async function processesInNetns(path: string): Promise<number[]> {
  const id = await netnsId(path).catch(() => undefined);
  if (id === undefined) return [];
  const names = await readdir('/proc').catch(() => [] as string[]);
  const pids = await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)
      .map(async (n) => ((await readlink(`/proc/${n}/ns/net`).catch(() => '')) === id ? Number(n) : undefined)),
  );
  return pids.filter((p): p is number => p !== undefined);
}

class NetworkImpl implements TestNetwork {
  readonly name: string;
  readonly outsideName: string;
  readonly path: string;
  readonly outsidePath: string;
  readonly insideLink = INSIDE_LINK;
  readonly outsideLink = OUTSIDE_LINK;
  readonly insideAddress: string;
  readonly outsideAddress: string;
  readonly prefixLength = PREFIX_LENGTH;
  private readonly block: number;
  private readonly made = { inside: false, outside: false };
  private readonly children = new Set<OutsideProcess>();
  private closing: Promise<void> | undefined;

  constructor() {
    const suffix = randomBytes(4).toString('hex');
    this.name = `${NAME_PREFIX_INSIDE}${suffix}`;
    this.outsideName = `${NAME_PREFIX_OUTSIDE}${suffix}`;
    this.path = `${NETNS_DIR}/${this.name}`;
    this.outsidePath = `${NETNS_DIR}/${this.outsideName}`;
    let block: number;
    do block = randomInt(1, 16_383); // skip 10.250.0.0/30 and 10.250.255.252/30
    while (usedBlocks.has(block));
    usedBlocks.add(block);
    this.block = block;
    const base = block * 4;
    const addr = (host: number): string => `10.250.${(base + host) >> 8}.${(base + host) & 0xff}`;
    this.outsideAddress = addr(1);
    this.insideAddress = addr(2);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  async setUp(): Promise<void> {
    for (const [which, name] of [['inside', this.name], ['outside', this.outsideName]] as const) {
      if (existsSync(`${NETNS_DIR}/${name}`)) throw new Error(`network namespace ${name} already exists`);
      createdNames.add(name);
      await must('ip', ['netns', 'add', name]);
      this.made[which] = true;
    }
    const cidr = (a: string): string => `${a}/${PREFIX_LENGTH}`;
    // Made inside berthd's namespace with its peer put straight into the outside one: the
    // pair never appears among the host's links, not even for a moment.
    await this.mustIn(this.path, ['ip', 'link', 'add', INSIDE_LINK, 'type', 'veth', 'peer', 'name', OUTSIDE_LINK, 'netns', this.outsideName]);
    await this.mustIn(this.outsidePath, ['ip', '-batch', '-'], [
      'link set lo up',
      `addr add ${cidr(this.outsideAddress)} dev ${OUTSIDE_LINK}`,
      `link set ${OUTSIDE_LINK} up`,
    ]);
    await this.mustIn(this.path, ['ip', '-batch', '-'], [
      'link set lo up',
      `addr add ${cidr(this.insideAddress)} dev ${INSIDE_LINK}`,
      `link set ${INSIDE_LINK} up`,
      `route add default via ${this.outsideAddress} dev ${INSIDE_LINK}`,
    ]);
  }

  exec(args: readonly string[], opts?: CommandOptions): Promise<CommandResult> {
    return runCommand('nsenter', [`--net=${this.path}`, '--', ...args], opts);
  }

  execOutside(args: readonly string[], opts?: CommandOptions): Promise<CommandResult> {
    return runCommand('nsenter', [`--net=${this.outsidePath}`, '--', ...args], opts);
  }

  spawnOutside(args: readonly string[], opts: SpawnOutsideOptions = {}): OutsideProcess {
    if (this.closed) throw new Error(`spawnOutside: test network ${this.name} is closed`);
    const child = spawn('nsenter', [`--net=${this.outsidePath}`, '--', ...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: string[] = [];
    const collect = (chunk: Buffer): void => void chunks.push(chunk.toString('utf8'));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let done = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (err) => {
        chunks.push(`[test harness] could not spawn ${args.join(' ')}: ${err.message}\n`);
        resolve({ code: null, signal: null });
      });
    }).finally(() => {
      done = true;
    });
    const handle: OutsideProcess = {
      child,
      pid: child.pid,
      exited,
      output: () => chunks.join(''),
      kill: async () => {
        if (!done) child.kill('SIGKILL');
        await exited;
        this.children.delete(handle);
      },
    };
    this.children.add(handle);
    return handle;
  }

  close(): Promise<void> {
    this.closing ??= this.teardown();
    return this.closing;
  }

  private async teardown(): Promise<void> {
    await Promise.all([...this.children].map((c) => c.kill()));
    const problems: string[] = [];
    for (const [which, path, name] of [['inside', this.path, this.name], ['outside', this.outsidePath, this.outsideName]] as const) {
      if (!this.made[which]) continue;
      // Whatever still runs there (a server, a stray container with --network host, berthd
      // itself if a test forgot to stop it) would keep the namespace alive after `ip netns del`.
      for (let attempt = 0; attempt < 20; attempt++) {
        const pids = await processesInNetns(path);
        if (pids.length === 0) break;
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      if (existsSync(path)) {
        const r = await runCommand('ip', ['netns', 'del', name], { timeoutMs: 10_000 });
        if (r.code !== 0 && existsSync(path)) problems.push(`ip netns del ${name}: ${r.stderr.trim()}`);
      }
      this.made[which] = false;
    }
    open.delete(this);
    usedBlocks.delete(this.block);
    if (problems.length > 0) throw new Error(`closing test network: ${problems.join('; ')}`);
  }

  /** Best effort at process exit: kill what we spawned, delete the namespaces. */
  closeSync(): void {
    for (const c of this.children) c.child.kill('SIGKILL');
    for (const [which, name] of [['inside', this.name], ['outside', this.outsideName]] as const) {
      if (this.made[which]) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 5_000 });
    }
  }

  private async mustIn(nsPath: string, args: readonly string[], batch?: readonly string[]): Promise<void> {
    await must('nsenter', [`--net=${nsPath}`, '--', ...args], batch === undefined ? undefined : `${batch.join('\n')}\n`);
  }
}

async function must(file: string, args: readonly string[], input?: string): Promise<void> {
  const r = await runCommand(file, args, { input, timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}${input ? `\ninput:\n${input}` : ''}`);
}
