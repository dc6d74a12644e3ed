import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';
import { networkKit } from '../support/network-kit.js';

// Bridge networking end to end with the docker CLI: berthd runs in a test-made namespace
// (useDaemon), with a second one standing in for the outside world (netns.ts).
describe('networking', () => {
  const daemon = useDaemon({ image: 'oci' });
  const { docker, net, ok } = networkKit(daemon);
  const ipOf = async (name: string, network: string): Promise<string> =>
    ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name]);
  /** A container serving "hi" on TCP 8080. */
  const server = (name: string, network: string, extra: string[] = []) =>
    ok(['run', '-d', '--name', name, '--network', network, ...extra, TEST_IMAGE, 'nc', '-ll', '-p', '8080', '-e', 'echo', 'hi']);
  const fetchFrom = (network: string, host: string) =>
    docker(['run', '--rm', '--network', network, TEST_IMAGE, 'nc', '-w', '2', host, '8080']);

  it('puts a container on the default bridge: eth0 in 172.17/16, a route via the gateway, which answers', async () => {
    const r = await docker(['run', '--rm', TEST_IMAGE, 'sh', '-c', 'ip -4 addr show eth0; ip route; ping -c 1 -W 2 172.17.0.1 >/dev/null && echo pong']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/inet 172\.17\.0\.\d+\/16/);
    expect(r.stdout).toMatch(/default via 172\.17\.0\.1 dev eth0/);
    expect(r.stdout).toContain('pong');
    const links = await net().exec(['ip', '-o', 'link', 'show', 'berth0']);
    expect(links.code).toBe(0);
  });

  it('connects containers of one user network, isolates different ones, resolves names', async () => {
    await ok(['network', 'create', 'front']);
    await ok(['network', 'create', 'back']);
    try {
      await server('web', 'front', ['--network-alias', 'www']);
      const ip = await ipOf('web', 'front');
      expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect((await fetchFrom('front', ip)).stdout).toBe('hi\n');
      expect((await fetchFrom('front', 'web')).stdout).toBe('hi\n'); // by name (DNS on the gateway)
      expect((await fetchFrom('front', 'www')).stdout).toBe('hi\n'); // by alias
      const other = await fetchFrom('back', ip);
      expect(other.stdout).toBe('');
      expect(other.code).not.toBe(0);
      const aliases = await ok(['inspect', '-f', '{{json (index .NetworkSettings.Networks "front").Aliases}}', 'web']);
      expect(aliases).toContain('www');
      const inspect = JSON.parse(await ok(['network', 'inspect', 'front'])) as { Containers: Record<string, { Name: string; IPv4Address: string }> }[];
      expect(Object.values(inspect[0]?.Containers ?? {})).toEqual([expect.objectContaining({ Name: 'web', IPv4Address: expect.stringMatching(new RegExp(`^${ip.replace(/\./g, '\\.')}/\\d+$`)) })]);
      const rm = await docker(['network', 'rm', 'front']);
      expect(rm.code).not.toBe(0);
      expect(rm.stderr).toMatch(/has active endpoints/);
    } finally {
      await docker(['rm', '-f', 'web']);
      await docker(['network', 'rm', 'front', 'back']);
    }
  });

  it('masquerades to the outside world; --internal networks have no way out', async () => {
    const outside = net().spawnOutside([process.execPath, '-e', `require('net').createServer((s) => s.end(s.remoteAddress.replace(/^::ffff:/, '') + '\\n')).listen(8080, '${net().outsideAddress}')`]);
    await ok(['network', 'create', '--internal', 'sealed']);
    try {
      await waitFor(async () => (await net().execOutside(['sh', '-c', `ss -ltn | grep -q ':8080'`])).code === 0);
      const seen = await docker(['run', '--rm', TEST_IMAGE, 'nc', '-w', '3', net().outsideAddress, '8080']);
      expect(seen.stdout.trim()).toBe(net().insideAddress); // the source was rewritten to berthd's address
      const user = await docker(['run', '--rm', '--network', 'bridge', TEST_IMAGE, 'nc', '-w', '3', net().outsideAddress, '8080']);
      expect(user.stdout.trim()).toBe(net().insideAddress);
      const sealed = await docker(['run', '--rm', '--network', 'sealed', TEST_IMAGE, 'nc', '-w', '2', net().outsideAddress, '8080']);
      expect(sealed.stdout).toBe('');
      expect(sealed.code).not.toBe(0);
    } finally {
      await outside.kill();
      await docker(['network', 'rm', 'sealed']);
    }
  });

  it('creates with --subnet/--gateway/--ip-range, honours --ip, lists, prunes and refuses predefined removal', async () => {
    const id = await ok(['network', 'create', '--subnet', '10.77.0.0/24', '--gateway', '10.77.0.254', '--ip-range', '10.77.0.128/25', '--label', 'team=a', 'lab']);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const overlap = await docker(['network', 'create', '--subnet', '10.77.0.0/16', 'clash']);
    expect(overlap.code).not.toBe(0);
    expect(overlap.stderr).toMatch(/Pool overlaps with other one on this address space/);
    const auto = await ok(['run', '--rm', '--network', 'lab', TEST_IMAGE, 'sh', '-c', 'ip -4 -o addr show eth0; ip route']);
    expect(auto).toMatch(/inet 10\.77\.0\.128\/24/);
    expect(auto).toMatch(/default via 10\.77\.0\.254/);
    const fixed = await ok(['run', '--rm', '--network', 'lab', '--ip', '10.77.0.9', TEST_IMAGE, 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    expect(fixed).toMatch(/inet 10\.77\.0\.9\/24/);
    const names = (await ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
    expect(names).toEqual(expect.arrayContaining(['bridge', 'host', 'none', 'lab']));
    expect(await ok(['network', 'ls', '-q', '--filter', 'label=team=a'])).toBe(id.slice(0, 12));
    const builtin = (await ok(['network', 'ls', '--filter', 'type=builtin', '--format', '{{.Name}}'])).split('\n').sort();
    expect(builtin).toEqual(['bridge', 'host', 'none']);
    for (const name of ['bridge', 'host', 'none']) {
      const r = await docker(['network', 'rm', name]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`${name} is a pre-defined network and cannot be removed`);
    }
    const unknown = await docker(['run', '--rm', '--network', 'nosuch', TEST_IMAGE, 'true']);
    expect(unknown.stderr).toContain('network nosuch not found');
    expect(await ok(['network', 'prune', '-f'])).toContain('lab');
    expect((await docker(['network', 'inspect', 'lab'])).code).not.toBe(0);
  });

  it('connects and disconnects a running container (eth1 comes and goes)', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    await ok(['network', 'create', 'extra']);
    await ok(['run', '-d', '--name', 'hop', TEST_IMAGE, 'sleep', '300']);
    try {
      await ok(['network', 'connect', '--alias', 'jumper', '--ip', '', 'extra', 'hop']);
      const withExtra = await ok(['exec', 'hop', 'ip', '-o', 'link']);
      expect(withExtra).toContain('eth1');
      expect(await ipOf('hop', 'extra')).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      await ok(['network', 'disconnect', 'extra', 'hop']);
      expect(await ok(['exec', 'hop', 'ip', '-o', 'link'])).not.toContain('eth1');
      const until = String(Math.floor(Date.now() / 1000) + 1);
      const events = await ok(['events', '--since', since, '--until', until, '--filter', 'type=network', '--filter', 'network=extra', '--format', '{{.Action}}']);
      expect(events.split('\n')).toEqual(['create', 'connect', 'disconnect']);
      const none = await ok(['run', '--rm', '--network', 'none', TEST_IMAGE, 'ip', '-o', 'link']);
      expect(none).not.toContain('eth0');
      const shared = await ok(['run', '--rm', '--network', 'container:hop', TEST_IMAGE, 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
      expect(shared).toContain(await ipOf('hop', 'bridge'));
    } finally {
      await docker(['rm', '-f', 'hop']);
      await docker(['network', 'rm', 'extra']);
    }
  });

  it('writes /etc/hosts and resolv.conf: its address, --add-host (host-gateway), host.docker.internal, the network DNS', async () => {
    await ok(['network', 'create', '--subnet', '10.78.0.0/24', 'named']);
    try {
      const dup = await docker(['network', 'create', 'named']);
      expect(dup.stderr).toContain('network with name named already exists');
      const out = await ok(['run', '--rm', '--network', 'named', '--ip', '10.78.0.20', '-h', 'box', '--add-host', 'gw:host-gateway', '--add-host', 'db:10.9.9.9', '--dns-search', 'example.test', TEST_IMAGE, 'sh', '-c', 'cat /etc/hosts /etc/resolv.conf']);
      expect(out).toMatch(/^10\.78\.0\.20\tbox$/m);
      expect(out).toMatch(/^10\.78\.0\.1\thost\.docker\.internal$/m);
      expect(out).toMatch(/^10\.78\.0\.1\tgw$/m);
      expect(out).toMatch(/^10\.9\.9\.9\tdb$/m);
      expect(out).toMatch(/^nameserver 10\.78\.0\.1$/m);
      expect(out).toMatch(/^search example\.test$/m);
      const dflt = await ok(['run', '--rm', '--dns', '10.1.2.3', TEST_IMAGE, 'cat', '/etc/resolv.conf']);
      expect(dflt).toMatch(/^nameserver 10\.1\.2\.3$/m);
    } finally {
      await docker(['network', 'rm', 'named']);
    }
  });

  it('publishes ports: DNAT from the outside, the proxy on loopback, docker port, a taken port refused', async () => {
    await server('pub', 'bridge', ['-p', '8080:8080', '-p', '9090']);
    try {
      const ports = await ok(['port', 'pub']);
      expect(ports).toContain('8080/tcp -> 0.0.0.0:8080');
      expect(ports).toMatch(/9090\/tcp -> 0\.0\.0\.0:\d+/);
      const outside = await net().execOutside(['busybox', 'nc', '-w', '3', net().insideAddress, '8080']);
      expect(outside.stdout).toBe('hi\n');
      const local = await net().exec(['busybox', 'nc', '-w', '3', '127.0.0.1', '8080']);
      expect(local.stdout).toBe('hi\n');
      const clash = await docker(['run', '-d', '--name', 'clash', '-p', '8080:80', TEST_IMAGE, 'sleep', '30']);
      expect(clash.code).not.toBe(0);
      expect(clash.stderr).toMatch(/port is already allocated/);
      expect(await ok(['inspect', '-f', '{{.State.Running}}', 'clash'])).toBe('false');
    } finally {
      await docker(['rm', '-f', 'pub', 'clash']);
    }
    const table = await net().exec(['nft', 'list', 'table', 'inet', 'berth']);
    expect(table.stdout).not.toContain('dnat ip to');
  });

  it('owns one nftables table and removes it, the bridges and veths when it stops', async () => {
    await ok(['network', 'create', 'last']);
    await ok(['run', '-d', '--name', 'stay', '--stop-timeout', '1', '--network', 'last', TEST_IMAGE, 'sleep', '300']);
    const table = await net().exec(['nft', 'list', 'table', 'inet', 'berth']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('masquerade');
    const exit = await daemon().stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect((await net().exec(['nft', 'list', 'table', 'inet', 'berth'])).code).not.toBe(0);
    const links = await net().exec(['ip', '-o', 'link']);
    expect(links.stdout).not.toMatch(/berth0|br-|veth/);
    // A restart rebuilds bridges and rules from state.
    await daemon().restart();
    expect((await net().exec(['nft', 'list', 'table', 'inet', 'berth'])).code).toBe(0);
    expect(await ok(['network', 'ls', '--filter', 'name=last', '--format', '{{.Name}}'])).toBe('last');
    await ok(['start', 'stay']);
    expect(await ok(['exec', 'stay', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).toMatch(/inet \d+\.\d+\.\d+\.\d+\//);
    await ok(['rm', '-f', 'stay']);
    await ok(['network', 'rm', 'last']);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
