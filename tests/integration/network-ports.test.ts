import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';
import { networkKit } from '../support/network-kit.js';
import type { TestNetwork } from '../support/netns.js';

// Published ports, host networking and per-container --dns end to end with the docker CLI
// (and dockerode for inspect): berthd runs in a test-made namespace, with a second one
// standing in for the outside world (netns.ts). Nothing leaves those two namespaces.
describe('networking: published ports, host mode, --dns', () => {
  const daemon = useDaemon({ image: 'oci' });
  const { docker, net, ok } = networkKit(daemon);
  /** A detached container answering "hi" on TCP `port` (busybox nc, persistent). */
  const tcpServer = (name: string, port: number, extra: string[] = []) =>
    ok(['run', '-d', '--name', name, ...extra, TEST_IMAGE, 'nc', '-ll', '-p', String(port), '-e', 'echo', 'hi']);
  /** busybox nc to host:port from berthd's namespace. */
  const fetchInside = (host: string, port: number | string) => net().exec(['busybox', 'nc', '-w', '3', host, String(port)], { timeoutMs: 15_000 });
  /** Retries until the server in a just-started container answers. */
  const fetchInsideSoon = async (host: string, port: number | string): Promise<string> => {
    let last = '';
    await waitFor(async () => {
      last = (await fetchInside(host, port)).stdout;
      return last !== '';
    }, 10_000).catch(() => undefined);
    return last;
  };

  it('-p 127.0.0.1:8081:80 binds loopback only: reachable there, not on the veth address from outside', async () => {
    await tcpServer('lo-only', 80, ['-p', '127.0.0.1:8081:80']);
    try {
      expect(await ok(['port', 'lo-only'])).toBe('80/tcp -> 127.0.0.1:8081');
      expect(await ok(['port', 'lo-only', '80'])).toBe('127.0.0.1:8081');
      expect(await fetchInsideSoon('127.0.0.1', 8081)).toBe('hi\n');
      const outside = await net().execOutside(['busybox', 'nc', '-w', '2', net().insideAddress, '8081'], { timeoutMs: 15_000 });
      expect(outside.stdout).toBe('');
      // Nor on berthd's own non-loopback address from inside its namespace.
      expect((await fetchInside(net().insideAddress, 8081)).stdout).toBe('');
    } finally {
      await docker(['rm', '-f', 'lo-only']);
    }
  });

  it('-p 5353:53/udp relays datagrams both ways through loopback', async () => {
    // The test image's busybox nc has no UDP mode (and berthd has no -v yet to bring a server
    // in): the echo server is the host's node, run in the container's network namespace.
    await ok(['run', '-d', '--name', 'udp-echo', '-p', '5353:53/udp', TEST_IMAGE, 'sleep', '300']);
    const pid = await ok(['inspect', '-f', '{{.State.Pid}}', 'udp-echo']);
    const script = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo:'),m]),r.port,r.address));s.bind(53,()=>console.log('ready'))`;
    const echo = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        echo.stdout.on('data', (chunk: Buffer) => (chunk.toString().includes('ready') ? resolve() : undefined));
        echo.once('exit', (code) => reject(new Error(`UDP echo server exited with ${String(code)}`)));
      });
      expect(await ok(['port', 'udp-echo'])).toBe('53/udp -> 0.0.0.0:5353');
      let reply = '';
      await waitFor(async () => {
        reply = (await udpAsk(net(), '127.0.0.1', 5353, 'ping')).stdout;
        return reply !== '';
      }, 10_000).catch(() => undefined);
      expect(reply).toBe('echo:ping');
      // From the outside world too (DNAT), and nothing on TCP 5353: only UDP was published.
      expect((await udpAskOutside(net(), net().insideAddress, 5353, 'far')).stdout).toBe('echo:far');
      expect((await fetchInside('127.0.0.1', 5353)).stdout).toBe('');
    } finally {
      echo.kill('SIGKILL');
      await docker(['rm', '-f', 'udp-echo']);
    }
  });

  it('--expose 80 -P publishes on a random port: docker port, dockerode inspect, and it answers', async () => {
    await tcpServer('exposed', 80, ['--expose', '80', '--expose', '81', '-P']);
    try {
      const all = await ok(['port', 'exposed']);
      const match = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(all);
      expect(match, all).not.toBeNull();
      const hostPort = match?.[1] ?? '';
      expect(Number(hostPort)).toBeGreaterThan(0);
      expect(all).toMatch(/^81\/tcp -> 0\.0\.0\.0:\d+$/m); // -P publishes every exposed port
      expect(await ok(['port', 'exposed', '80/tcp'])).toBe(`0.0.0.0:${hostPort}`);
      expect(await fetchInsideSoon('127.0.0.1', hostPort)).toBe('hi\n');
      const info = await daemon().dockerode.getContainer('exposed').inspect();
      const ports = info.NetworkSettings.Ports as Record<string, { HostIp: string; HostPort: string }[] | null>;
      expect(ports['80/tcp']).toEqual([{ HostIp: '0.0.0.0', HostPort: hostPort }]);
      expect(ports['81/tcp']).toEqual([{ HostIp: '0.0.0.0', HostPort: expect.stringMatching(/^\d+$/) }]);
      expect(info.HostConfig.PublishAllPorts).toBe(true);
    } finally {
      await docker(['rm', '-f', 'exposed']);
    }
    // Exposed but not published: null in inspect, nothing in `docker port`.
    await tcpServer('unpublished', 80, ['--expose', '80']);
    try {
      const info = await daemon().dockerode.getContainer('unpublished').inspect();
      expect(info.NetworkSettings.Ports).toEqual({ '80/tcp': null });
      expect(await ok(['port', 'unpublished'])).toBe('');
    } finally {
      await docker(['rm', '-f', 'unpublished']);
    }
  });

  it('refuses a port another container holds ("port is already allocated"); rm -f frees it', async () => {
    await tcpServer('holder', 80, ['-p', '18080:80']);
    try {
      const clash = await docker(['run', '-d', '--name', 'wants', '-p', '18080:80', TEST_IMAGE, 'nc', '-ll', '-p', '80', '-e', 'echo', 'second']);
      expect(clash.code).not.toBe(0);
      expect(clash.stderr).toMatch(/port is already allocated/);
      expect(await ok(['inspect', '-f', '{{.State.Running}} {{.State.Pid}}', 'wants'])).toBe('false 0');
      expect(await fetchInsideSoon('127.0.0.1', 18080)).toBe('hi\n'); // the holder is untouched
      await ok(['rm', '-f', 'holder']);
      // The port is free again: the refused container starts and gets it.
      await ok(['start', 'wants']);
      expect(await ok(['port', 'wants', '80'])).toBe('0.0.0.0:18080');
      expect(await fetchInsideSoon('127.0.0.1', 18080)).toBe('second\n');
      const outside = await net().execOutside(['busybox', 'nc', '-w', '3', net().insideAddress, '18080'], { timeoutMs: 15_000 });
      expect(outside.stdout).toBe('second\n');
      await ok(['rm', '-f', 'wants']);
      // And a brand-new container can take it too.
      await tcpServer('third', 80, ['-p', '18080:80']);
      expect(await fetchInsideSoon('127.0.0.1', 18080)).toBe('hi\n');
    } finally {
      await docker(['rm', '-f', 'holder', 'wants', 'third']);
    }
    const table = await net().exec(['nft', 'list', 'table', 'inet', 'berth']);
    expect(table.stdout).not.toContain('18080');
  });

  it('--network host: the container sees berthd\'s interfaces, its server answers on 127.0.0.1', async () => {
    const links = await ok(['run', '--rm', '--network', 'host', TEST_IMAGE, 'ip', '-o', 'link']);
    expect(links).toContain(net().insideLink);
    expect(links).not.toMatch(/\beth0\b/);
    const addrs = await ok(['run', '--rm', '--network', 'host', TEST_IMAGE, 'ip', '-4', '-o', 'addr', 'show', net().insideLink]);
    expect(addrs).toContain(net().insideAddress);
    await tcpServer('hosted', 8095, ['--network', 'host']);
    try {
      expect(await fetchInsideSoon('127.0.0.1', 8095)).toBe('hi\n');
      // On berthd's address too, so from the outside world as well (no NAT involved).
      const outside = await net().execOutside(['busybox', 'nc', '-w', '3', net().insideAddress, '8095'], { timeoutMs: 15_000 });
      expect(outside.stdout).toBe('hi\n');
      expect(await ok(['inspect', '-f', '{{.HostConfig.NetworkMode}}', 'hosted'])).toBe('host');
    } finally {
      await docker(['rm', '-f', 'hosted']);
    }
  });

  it('--dns on a user network: the network DNS forwards that container\'s queries to its servers, still resolves names', async () => {
    const outsideDns = net().spawnOutside([process.execPath, '-e', dnsResponderScript(net().outsideAddress)]);
    await ok(['network', 'create', 'dnsnet']);
    try {
      await waitFor(async () => outsideDns.output().includes('ready'));
      await ok(['run', '-d', '--name', 'peer', '--network', 'dnsnet', TEST_IMAGE, 'sleep', '300']);
      const peerIp = await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "dnsnet").IPAddress}}', 'peer']);
      const gateway = await ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'dnsnet']);
      const out = await ok(['run', '--rm', '--network', 'dnsnet', '--dns', net().outsideAddress, TEST_IMAGE, 'sh', '-c',
        'cat /etc/resolv.conf; nslookup ext.test; nslookup peer']);
      // resolv.conf still names the network's DNS server (which knows the containers)...
      expect(out).toMatch(new RegExp(`^nameserver ${gateway.replace(/\./g, '\\.')}$`, 'm'));
      expect(out).not.toMatch(new RegExp(`^nameserver ${net().outsideAddress.replace(/\./g, '\\.')}$`, 'm'));
      // ...which asked the container's --dns server for the rest, and knows the peer itself.
      expect(out).toMatch(/Name:\s+ext\.test\s+Address: 10\.9\.9\.9/);
      expect(out).toMatch(new RegExp(`Name:\\s+peer\\s+Address: ${peerIp.replace(/\./g, '\\.')}`));
      expect(outsideDns.output()).toMatch(/query ext\.test from /);
      expect(outsideDns.output()).not.toMatch(/query peer/);
    } finally {
      await docker(['rm', '-f', 'peer']);
      await docker(['network', 'rm', 'dnsnet']);
      await outsideDns.kill();
    }
  });
});

/** One UDP datagram from berthd's namespace to host:port; stdout is the reply (empty on timeout). */
function udpAsk(net: TestNetwork, host: string, port: number, text: string) {
  return net.exec([process.execPath, '-e', udpClientScript(host, port, text)], { timeoutMs: 10_000 });
}

/** The same from the outside namespace. */
function udpAskOutside(net: TestNetwork, host: string, port: number, text: string) {
  return net.execOutside([process.execPath, '-e', udpClientScript(host, port, text)], { timeoutMs: 10_000 });
}

function udpClientScript(host: string, port: number, text: string): string {
  return `const s=require('dgram').createSocket('udp4');const t=setTimeout(()=>process.exit(1),2000);` +
    `s.on('message',(m)=>{process.stdout.write(m);clearTimeout(t);s.close()});` +
    `s.send(Buffer.from(${JSON.stringify(text)}),${port},${JSON.stringify(host)})`;
}

/**
 * A tiny authoritative DNS server on UDP 53 of `address`: A of ext.test → 10.9.9.9, an empty
 * NOERROR for its other types, NXDOMAIN for every other name. Logs "query NAME from IP".
 */
function dnsResponderScript(address: string): string {
  return `
const s = require('dgram').createSocket('udp4');
s.on('message', (q, r) => {
  if (q.length < 17) return;
  let p = 12; const labels = [];
  while (p < q.length && q[p] !== 0) { labels.push(q.subarray(p + 1, p + 1 + q[p]).toString()); p += 1 + q[p]; }
  const end = p + 5; if (end > q.length) return;
  const type = q.readUInt16BE(p + 1); const name = labels.join('.').toLowerCase();
  console.log('query ' + name + ' from ' + r.address);
  const ours = name === 'ext.test'; const answer = ours && type === 1;
  const h = Buffer.alloc(12); q.copy(h, 0, 0, 2);
  h.writeUInt16BE(0x8400 | (q.readUInt16BE(2) & 0x0100) | (ours ? 0 : 3), 2);
  h.writeUInt16BE(1, 4); h.writeUInt16BE(answer ? 1 : 0, 6);
  const parts = [h, q.subarray(12, end)];
  if (answer) parts.push(Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 9, 9]));
  s.send(Buffer.concat(parts), r.port, r.address);
});
s.bind(53, ${JSON.stringify(address)}, () => console.log('ready'));
`;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
