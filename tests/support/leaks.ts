import { lstat, readFile, readdir, readlink, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runCommand } from './command.js';
import { isForeignTestNetns, netnsId, type TestNetwork } from './netns.js';

/**
 * Leak checks: after a daemon stops, nothing it made may remain. "Made by it" is recognised by
 * where things live (its temp roots), what they are named (its unique cgroup parent) or, for
 * host-wide things with no such mark (links, named netns, shims), by being new since a
 * snapshot taken before it started.
 *
 *   const before = await snapshotResources();
 *   const daemon = await startDaemon();
 *   ...
 *   await daemon.stop();
 *   await assertNoLeaks(before, daemon);
 *
 * Checked: mounts under the roots (/proc/self/mountinfo), a cgroup directory named after the
 * cgroup parent in any v1 hierarchy or in v2, processes whose command line or cwd is under the
 * roots or that sit in the cgroup parent, `berth-shim` and `berth-hold` processes, network
 * links (`ip -o link`) and named network namespaces (`ip netns list`).
 *
 * A daemon in a test network (netns.ts) is also checked inside berthd's namespace, which it
 * must leave as the harness made it: links only lo and the test veth, no nftables table, no
 * addresses or IPv4 routes beyond the test ones, no process left in it. Those namespaces
 * themselves are not leaks (the harness deletes them after the check), nor are other test
 * runs' `berth-t-*` / `berth-o-*` ones; the host-level checks should now see nothing new.
 */

/** Host-wide resources as they were before a daemon started. */
export interface ResourceSnapshot {
  readonly links: ReadonlySet<string>;
  readonly netns: ReadonlySet<string>;
  readonly shims: ReadonlySet<number>;
}

/** What identifies one daemon's resources; a `Daemon` satisfies it. */
export interface LeakScope {
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly cgroupParent: string;
  /** The temp dir holding the roots and the socket, when there is one. */
  readonly root?: string;
  readonly socket?: string;
  /** The test network berthd ran in, when it ran in one (a `Daemon` has it). */
  readonly netns?: TestNetwork;
}

const CGROUP_ROOT = '/sys/fs/cgroup';
const SHIM_NAME = 'berth-shim';
/** `berth-helper hold` processes (`berth-hold <target>`), counted as shims are. */
const HOLD_NAME = 'berth-hold';
/**
 * Marks this test process: berthd and its shims inherit the environment, so a shim carrying
 * our tag is ours, and shims of other test runs on the same machine are never counted or killed.
 */
const OWNER_TAG = 'BERTH_TEST_OWNER';
process.env[OWNER_TAG] ??= `${process.pid}-${Date.now()}`;

export async function snapshotResources(): Promise<ResourceSnapshot> {
  const [links, netns, processes] = await Promise.all([listLinks(), listNetns(), listProcesses()]);
  return { links, netns, shims: new Set(processes.filter(isShim).map((p) => p.pid)) };
}

/** Every leak found now, one line each (empty when clean). */
export async function findLeaks(before: ResourceSnapshot, scope: LeakScope): Promise<string[]> {
  const roots = scopeRoots(scope);
  const leaks: string[] = [];
  for (const mount of await mountsUnder(roots)) leaks.push(`mount ${mount}`);
  for (const dir of await cgroupDirs(scope.cgroupParent)) leaks.push(`cgroup ${dir}`);
  for (const p of await processesOf(before, scope)) leaks.push(`process ${p.pid} (${p.cmdline || p.comm}): ${p.why}`);
  const [links, netns] = await Promise.all([listLinks(), listNetns()]);
  for (const link of links) if (!before.links.has(link)) leaks.push(`network link ${link}`);
  const harnessMade = new Set([scope.netns?.name, scope.netns?.outsideName]);
  for (const ns of netns) {
    if (!before.netns.has(ns) && !harnessMade.has(ns) && !isForeignTestNetns(ns)) leaks.push(`network namespace ${ns}`);
  }
  if (scope.netns !== undefined) leaks.push(...(await leaksInside(scope.netns)));
  return leaks;
}

/**
 * Like findLeaks, but teardown can trail a daemon's exit by a moment (a process being reaped),
 * so it looks again for up to `settleMs` (default 3 s) before answering.
 */
export async function findLeaksSettled(before: ResourceSnapshot, scope: LeakScope, settleMs = 3_000): Promise<string[]> {
  const deadline = Date.now() + settleMs;
  let leaks = await findLeaks(before, scope);
  while (leaks.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    leaks = await findLeaks(before, scope);
  }
  return leaks;
}

/** Throws, listing every leak, unless the machine is clean (see findLeaksSettled). */
export async function assertNoLeaks(before: ResourceSnapshot, scope: LeakScope, settleMs = 3_000): Promise<void> {
  const leaks = await findLeaksSettled(before, scope, settleMs);
  if (leaks.length > 0) {
    throw new Error(`berthd left ${leaks.length} resource(s) behind:\n  ${leaks.join('\n  ')}`);
  }
}

/**
 * Best-effort removal of what a daemon left behind inside its own scope, so one failing test
 * file does not poison the next: kills its processes, lazily unmounts its mounts, removes its
 * cgroups. Host-wide links and netns are only reported, never touched; what is left inside a
 * daemon's test network goes with it when the harness deletes it (removeRoots()).
 */
export async function reclaimLeaks(before: ResourceSnapshot, scope: LeakScope): Promise<void> {
  for (const p of await processesOf(before, scope)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 200));
  await unmountUnder(scopeRoots(scope));
  const dirs = await cgroupDirs(scope.cgroupParent);
  for (const dir of dirs.sort((a, b) => b.length - a.length)) {
    await removeCgroupTree(dir);
  }
}

/** Lazily unmounts every mount under `roots`, deepest first. */
export async function unmountUnder(roots: readonly string[]): Promise<void> {
  const mounts = await mountsUnder(roots);
  for (const mount of mounts.sort((a, b) => b.length - a.length)) {
    await runCommand('umount', ['-l', mount], { timeoutMs: 10_000 });
  }
}

/** Mount points (from /proc/self/mountinfo) at or under any of `roots`. */
export async function mountsUnder(roots: readonly string[]): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const mountPoint = field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (roots.some((root) => isUnder(mountPoint, root))) found.push(mountPoint);
  }
  return found;
}

function scopeRoots(scope: LeakScope): string[] {
  const roots = [scope.dataRoot, scope.execRoot];
  if (scope.root !== undefined) roots.push(scope.root);
  return roots;
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

// ---- cgroups ------------------------------------------------------------------------------

/** Hierarchy roots: /sys/fs/cgroup itself on a pure v2 host, else each mounted hierarchy. */
async function cgroupHierarchies(): Promise<string[]> {
  if (await exists(join(CGROUP_ROOT, 'cgroup.controllers'))) return [CGROUP_ROOT];
  const entries = await readdir(CGROUP_ROOT, { withFileTypes: true }).catch(() => []);
  // Skip the symlinks (cpu -> cpu,cpuacct): they name a hierarchy already listed.
  return entries.filter((e) => e.isDirectory()).map((e) => join(CGROUP_ROOT, e.name));
}

/** Every cgroup directory whose path ends with `cgroupParent`, at any depth (up to 8). */
async function cgroupDirs(cgroupParent: string): Promise<string[]> {
  const found: string[] = [];
  const suffix = `/${cgroupParent}`;
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (dir.endsWith(suffix)) {
      found.push(dir);
      return;
    }
    if (depth === 0) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => walk(join(dir, e.name), depth - 1)));
  };
  for (const hierarchy of await cgroupHierarchies()) await walk(hierarchy, 8);
  return found;
}

async function removeCgroupTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeCgroupTree(join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

// ---- processes ----------------------------------------------------------------------------

interface ProcessInfo {
  readonly pid: number;
  readonly comm: string;
  readonly cmdline: string;
  readonly cwd: string;
  readonly cgroups: readonly string[];
  /** Its network namespace, as /proc/PID/ns/net reads (`net:[inode]`). */
  readonly netns: string;
  /** Carries this test process's owner tag in its environment. */
  readonly ours: boolean;
}

async function listProcesses(): Promise<ProcessInfo[]> {
  const names = await readdir('/proc');
  const infos = await Promise.all(
    names.filter((n) => /^\d+$/.test(n)).map(async (name): Promise<ProcessInfo | undefined> => {
      const pid = Number(name);
      const dir = `/proc/${name}`;
      try {
        const [comm, cmdline, cgroup] = await Promise.all([
          readFile(`${dir}/comm`, 'utf8'),
          readFile(`${dir}/cmdline`, 'utf8'),
          readFile(`${dir}/cgroup`, 'utf8'),
        ]);
        const cwd = await readlink(`${dir}/cwd`).catch(() => '');
        const netns = await readlink(`${dir}/ns/net`).catch(() => '');
        const environ = await readFile(`${dir}/environ`, 'utf8').catch(() => '');
        return {
          ours: environ.split('\0').includes(`${OWNER_TAG}=${process.env[OWNER_TAG] ?? ''}`),
          pid,
          comm: comm.trim(),
          cmdline: cmdline.split('\0').filter(Boolean).join(' '),
          cwd,
          netns,
          cgroups: cgroup.split('\n').map((l) => l.split(':').slice(2).join(':')).filter(Boolean),
        };
      } catch {
        return undefined; // exited while we looked
      }
    }),
  );
  return infos.filter((p): p is ProcessInfo => p !== undefined && p.pid !== process.pid);
}

function isShim(p: ProcessInfo): boolean {
  const argv0 = basename(p.cmdline.split(' ')[0] ?? '');
  const named = (name: string): boolean => p.comm.startsWith(name) || argv0.startsWith(name);
  return (named(SHIM_NAME) || named(HOLD_NAME)) && p.ours;
}

async function processesOf(before: ResourceSnapshot, scope: LeakScope): Promise<(ProcessInfo & { why: string })[]> {
  const roots = scopeRoots(scope);
  const cgroupMark = `/${scope.cgroupParent}`;
  const daemonNetns = await testNetnsId(scope.netns);
  const result: (ProcessInfo & { why: string })[] = [];
  for (const p of await listProcesses()) {
    const why: string[] = [];
    const root = roots.find((r) => p.cmdline.includes(r));
    if (root !== undefined) why.push(`command line names ${root}`);
    if (p.cwd !== '' && roots.some((r) => isUnder(p.cwd, r))) why.push(`cwd ${p.cwd}`);
    const cg = p.cgroups.find((path) => path.endsWith(cgroupMark) || path.includes(`${cgroupMark}/`));
    if (cg !== undefined) why.push(`in cgroup ${cg}`);
    if (isShim(p) && !before.shims.has(p.pid)) why.push(`a ${p.comm} started since the snapshot`);
    if (daemonNetns !== undefined && p.netns === daemonNetns) why.push(`in berthd's network namespace ${scope.netns?.name ?? ''}`);
    if (why.length > 0) result.push({ ...p, why: why.join(', ') });
  }
  return result;
}

// ---- network ------------------------------------------------------------------------------

async function listLinks(): Promise<Set<string>> {
  const r = await runCommand('ip', ['-o', 'link', 'show'], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`ip -o link show failed: ${r.stderr}`);
  return parseLinkNames(r.stdout);
}

/** Link names from `ip -o link show` output. */
function parseLinkNames(output: string): Set<string> {
  const names = new Set<string>();
  for (const line of output.split('\n')) {
    // "12: veth1a2b@if11: <BROADCAST,...> ..." → "veth1a2b"
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m?.[1] !== undefined) names.add(m[1]);
  }
  return names;
}

async function listNetns(): Promise<Set<string>> {
  const r = await runCommand('ip', ['netns', 'list'], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`ip netns list failed: ${r.stderr}`);
  return new Set(r.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean));
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** The namespace identity of an open test network (undefined when none, or it is closed). */
async function testNetnsId(net: TestNetwork | undefined): Promise<string | undefined> {
  if (net === undefined || net.closed) return undefined;
  return netnsId(net.path).catch(() => undefined);
}

interface IpAddrJson {
  readonly ifname?: string;
  readonly addr_info?: readonly { readonly family?: string; readonly local?: string; readonly prefixlen?: number; readonly scope?: string }[];
}

interface IpRouteJson {
  readonly dst?: string;
  readonly gateway?: string;
  readonly dev?: string;
}

/**
 * What berthd left inside its test network namespace (empty when none, or it is closed):
 * links other than lo and the test veth, nftables tables, addresses and IPv4 routes other than
 * the harness's. Processes still in it are found by processesOf.
 */
async function leaksInside(net: TestNetwork): Promise<string[]> {
  if (net.closed || (await testNetnsId(net)) === undefined) return [];
  const where = `in ${net.name}`;
  const leaks: string[] = [];
  const run = async (args: readonly string[]): Promise<string | undefined> => {
    const r = await net.exec(args, { timeoutMs: 10_000 });
    if (r.code === 0) return r.stdout;
    leaks.push(`(${where}: \`${args.join(' ')}\` failed (${r.code}): ${r.stderr.trim()})`);
    return undefined;
  };
  const [links, tables, addrs, routes] = await Promise.all([
    run(['ip', '-o', 'link', 'show']),
    run(['nft', 'list', 'tables']),
    run(['ip', '-j', 'addr', 'show']),
    run(['ip', '-j', '-4', 'route', 'show']),
  ]);
  for (const link of parseLinkNames(links ?? '')) {
    if (link !== 'lo' && link !== net.insideLink) leaks.push(`network link ${link} ${where}`);
  }
  for (const line of (tables ?? '').split('\n')) {
    if (line.trim() !== '') leaks.push(`nftables ${line.trim()} ${where}`);
  }
  const expected = new Set(['lo 127.0.0.1/8', 'lo ::1/128', `${net.insideLink} ${net.insideAddress}/${net.prefixLength}`]);
  for (const link of JSON.parse(addrs ?? '[]') as IpAddrJson[]) {
    for (const a of link.addr_info ?? []) {
      const text = `${link.ifname ?? '?'} ${a.local ?? '?'}/${String(a.prefixlen)}`;
      const linkLocal = a.family === 'inet6' && a.scope === 'link' && link.ifname === net.insideLink;
      if (!expected.has(text) && !linkLocal) leaks.push(`address ${text} ${where}`);
    }
  }
  for (const r of JSON.parse(routes ?? '[]') as IpRouteJson[]) {
    const mine = r.dev === net.insideLink && (r.dst === 'default' ? r.gateway === net.outsideAddress : r.gateway === undefined && r.dst !== undefined && sameSubnet(r.dst, net));
    if (!mine) leaks.push(`route ${r.dst ?? '?'}${r.gateway !== undefined ? ` via ${r.gateway}` : ''} dev ${r.dev ?? '?'} ${where}`);
  }
  return leaks;
}

/** True for the test link's own connected route (`10.250.X.Y/30`). */
function sameSubnet(dst: string, net: TestNetwork): boolean {
  const [addr, len] = dst.split('/');
  if (addr === undefined || Number(len) !== net.prefixLength) return false;
  const toInt = (a: string): number => a.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  const mask = 2 ** 32 - 2 ** (32 - net.prefixLength);
  return toInt(addr) === (toInt(net.insideAddress) & mask) >>> 0;
}
