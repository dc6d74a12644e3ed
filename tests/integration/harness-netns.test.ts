import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../support/command.js';
import { startDaemon } from '../support/daemon.js';
import { TEST_IMAGE, fixturePath } from '../support/fixtures.js';
import { findLeaks, snapshotResources } from '../support/leaks.js';
import { createTestNetwork, netnsId, processesInNetns, type TestNetwork } from '../support/netns.js';
import { useDaemon } from '../support/suite.js';

// The harness runs every berthd in a network namespace of its own, with a second one standing
// in for the outside world (tests/support/netns.ts): these tests hold it to that.

/** The static busybox of the test image, runnable on the host too. */
const BUSYBOX = join(fixturePath('rootfsDir'), 'bin', 'busybox');
const PORT = 18080;
const GET = 'GET / HTTP/1.0\r\n\r\n';

/** Running: present in /proc and not a zombie waiting for an init that reaps slowly. */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/\) Z /.test(stat);
}

async function netnsNames(): Promise<string[]> {
  const r = await runCommand('ip', ['netns', 'list']);
  return r.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

/** The host's interface names and addresses other than loopback's. */
async function hostInterfaces(): Promise<{ names: string[]; addresses: string[] }> {
  const r = await runCommand('ip', ['-j', 'addr', 'show']);
  const links = JSON.parse(r.stdout) as { ifname: string; addr_info: { local: string }[] }[];
  const others = links.filter((l) => l.ifname !== 'lo');
  return { names: others.map((l) => l.ifname), addresses: others.flatMap((l) => l.addr_info.map((a) => a.local)) };
}

/** Serves "hello from outside" over HTTP on the outside address; resolves once it listens. */
async function startOutsideServer(net: TestNetwork, dir: string): Promise<void> {
  await writeFile(join(dir, 'index.html'), 'hello from outside\n');
  const server = net.spawnOutside([BUSYBOX, 'httpd', '-f', '-p', `${net.outsideAddress}:${PORT}`, '-h', dir]);
  for (let i = 0; i < 100; i++) {
    const r = await net.execOutside([BUSYBOX, 'nc', '-w', '1', net.outsideAddress, String(PORT)], { input: GET, timeoutMs: 5_000 });
    if (r.stdout.includes('hello from outside')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the outside httpd did not listen: ${server.output()}`);
}


/** BERTH_TEST_NETNS=0 (debugging) runs daemons in the test process's namespace. */
const optedOut = process.env.BERTH_TEST_NETNS === '0';

describe.skipIf(optedOut)('the harness runs berthd in a test network namespace', () => {
  const daemon = useDaemon({ image: 'oci' });

  it('berthd (the pid the harness tracks, node itself) is in its own namespace, not the test process\'s', async () => {
    const d = daemon();
    const net = d.netns;
    expect(net).toBeDefined();
    if (net === undefined) return;
    expect(net.name).toMatch(/^berth-t-[0-9a-f]+$/);
    expect(net.outsideName).toMatch(/^berth-o-[0-9a-f]+$/);
    const pid = d.pid ?? 0;
    const [theirs, ours, exe] = await Promise.all([readlink(`/proc/${pid}/ns/net`), readlink('/proc/self/ns/net'), readlink(`/proc/${pid}/exe`)]);
    expect(theirs).not.toBe(ours);
    expect(theirs).toBe(await netnsId(net.path));
    expect(exe).toBe(process.execPath); // nsenter exec'd node: same pid
    expect(await processesInNetns(net.path)).toContain(pid);
  });

  it('a --network host container sees the test namespace\'s interfaces, not the host\'s', async () => {
    const d = daemon();
    const net = d.netns as TestNetwork;
    const r = await d.docker(['run', '--rm', '--network', 'host', TEST_IMAGE, 'ip', '-o', 'addr']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${net.insideLink} `);
    expect(r.stdout).toContain(`inet ${net.insideAddress}/${net.prefixLength}`);
    const host = await hostInterfaces();
    for (const name of host.names) expect(r.stdout).not.toMatch(new RegExp(`^\\d+: ${name}\\s`, 'm'));
    for (const address of host.addresses) expect(r.stdout).not.toContain(` ${address}/`);
    const routes = await d.docker(['run', '--rm', '--network', 'host', TEST_IMAGE, 'ip', 'route']);
    expect(routes.stdout).toContain(`default via ${net.outsideAddress} dev ${net.insideLink}`);
  });

  it('reaches a server in the outside namespace from berthd\'s namespace and from a host-network container', async () => {
    const d = daemon();
    const net = d.netns as TestNetwork;
    const dir = await mkdtemp(join(tmpdir(), 'berth-www-'));
    try {
      await startOutsideServer(net, dir);
      const direct = await net.exec([BUSYBOX, 'nc', '-w', '3', net.outsideAddress, String(PORT)], { input: GET, timeoutMs: 10_000 });
      expect(direct.stdout, direct.stderr).toMatch(/^HTTP\/1\.[01] 200/);
      expect(direct.stdout).toContain('hello from outside');
      const script = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${net.outsideAddress} ${PORT}`;
      const fromContainer = await d.docker(['run', '--rm', '--network', 'host', TEST_IMAGE, 'sh', '-c', script]);
      expect(fromContainer.stdout, fromContainer.stderr).toContain('hello from outside');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('test networks', () => {
  it('close() kills what runs there and removes both namespaces; twice is fine', async () => {
    const net = await createTestNetwork();
    try {
      expect(await netnsNames()).toEqual(expect.arrayContaining([net.name, net.outsideName]));
      expect(net.insideAddress).toMatch(/^10\.250\.\d+\.\d+$/);
      const links = await net.exec(['ip', '-o', 'link', 'show']);
      expect(links.stdout.split('\n').filter(Boolean).map((l) => l.split(/[:@]\s*/)[1])).toEqual(['lo', net.insideLink]);
      const sleeper = net.spawnOutside([BUSYBOX, 'sleep', '300']);
      const stray = await net.exec(['sh', '-c', `${BUSYBOX} sleep 300 >/dev/null 2>&1 & echo $!`]);
      const strayPid = Number(stray.stdout.trim());
      expect(strayPid).toBeGreaterThan(1);
      const ping = await net.execOutside([BUSYBOX, 'ping', '-c', '1', '-W', '2', net.insideAddress]);
      expect(ping.code, ping.stdout + ping.stderr).toBe(0);
      await Promise.all([net.close(), net.close()]);
      expect(net.closed).toBe(true);
      expect((await sleeper.exited).signal).toBe('SIGKILL');
      expect(await alive(strayPid)).toBe(false);
      expect(existsSync(net.path) || existsSync(net.outsidePath)).toBe(false);
      const names = await netnsNames();
      expect(names).not.toContain(net.name);
      expect(names).not.toContain(net.outsideName);
      await net.close();
    } finally {
      await net.close();
    }
  });

  it.skipIf(optedOut)('a daemon keeps its namespace across restart(), the leak check looks inside it, removeRoots() deletes it', async () => {
    const before = await snapshotResources();
    const d = await startDaemon();
    const net = d.netns as TestNetwork;
    try {
      const first = await netnsId(net.path);
      await d.restart();
      expect(await readlink(`/proc/${d.pid ?? 0}/ns/net`)).toBe(first);
      expect(await d.stop('SIGTERM'), d.logs()).toEqual({ code: 0, signal: null });
      expect(await findLeaks(before, d)).toEqual([]);

      // What berthd must not leave in its namespace is reported, and only there.
      const made = await net.exec(['sh', '-c', 'ip link add berth-leak0 type bridge && ip addr add 10.99.0.1/24 dev berth-leak0 && ip link set berth-leak0 up && nft add table inet berth']);
      expect(made.code, made.stderr).toBe(0);
      const leaks = await findLeaks(before, d);
      expect(leaks).toEqual(
        expect.arrayContaining([
          `network link berth-leak0 in ${net.name}`,
          `nftables table inet berth in ${net.name}`,
          `address berth-leak0 10.99.0.1/24 in ${net.name}`,
          `route 10.99.0.0/24 dev berth-leak0 in ${net.name}`,
        ]),
      );
      expect(leaks.filter((l) => !l.endsWith(` in ${net.name}`))).toEqual([]);
      expect(await netnsNames()).toContain(net.name);
    } finally {
      await d.stop('SIGKILL');
      await d.removeRoots();
    }
    expect(net.closed).toBe(true);
    const names = await netnsNames();
    expect(names).not.toContain(net.name);
    expect(names).not.toContain(net.outsideName);
    expect(await findLeaks(before, d)).toEqual([]);
  });

  it.skipIf(optedOut)('a daemon on a caller-made network leaves it open for the caller', async () => {
    const net = await createTestNetwork();
    try {
      const d = await startDaemon({ netns: net });
      expect(d.netns).toBe(net);
      await d.stop('SIGTERM');
      await d.removeRoots();
      expect(net.closed).toBe(false);
      expect(existsSync(net.path)).toBe(true);
    } finally {
      await net.close();
    }
  });
});
