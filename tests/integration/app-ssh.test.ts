import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBerthApp, type BerthApp } from '../../electron/main/app/berth-app.js';
import { connectBridge, type NodeBridge } from '../support/bridge-client.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { DOCKER_CLI } from '../support/paths.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { useDaemon } from '../support/suite.js';

/**
 * "A remote host over SSH": the app reaches an engine through a real OpenSSH server on
 * loopback, the way Docker's own ssh:// hosts work (the remote runs `docker system
 * dial-stdio`; here authorized_keys forces that command against the test's berthd).
 */
describe('the app connected to an engine over SSH', () => {
  const daemon = useDaemon({ image: 'oci' });
  let sshd: TestSshd | undefined;
  let app: BerthApp | undefined;
  let bridge: NodeBridge | undefined;

  beforeAll(async () => {
    sshd = await startSshd(`DOCKER_HOST=unix://${daemon().socket} ${DOCKER_CLI} system dial-stdio`);
    const [type, key] = sshd.hostPublicKey.split(' ');
    await writeFile(knownHosts(), `# a comment\nother.example ${type} ${key}\n[127.0.0.1]:${sshd.port} ${type} ${key}\n`);
    app = await startBerthApp({ mode: 'browser', target: target() });
    bridge = await connectBridge(app.server.url);
  });

  afterAll(async () => {
    await bridge?.close();
    await app?.close();
    await sshd?.stop();
  });

  const knownHosts = () => join(daemon().root, 'known_hosts');
  const target = (over: Record<string, unknown> = {}) => ({
    kind: 'ssh' as const,
    host: '127.0.0.1',
    port: sshd?.port ?? 0,
    username: 'root',
    privateKeyPath: sshd?.privateKeyPath ?? '',
    knownHostsPath: knownHosts(),
    ...over,
  });

  const b = (): NodeBridge => {
    if (bridge === undefined) throw new Error('not started');
    return bridge;
  };

  it('connects, lists, runs a container and follows its events through the tunnel', async () => {
    const status = await b().invoke('connection:status', undefined);
    expect(status.state, status.error).toBe('connected');
    expect(status.engine?.isBerth).toBe(true);
    expect(status.target).toMatchObject({ kind: 'ssh', host: '127.0.0.1' });

    const started = b().next('engine:event', (e) => e.action === 'start' && e.name === 'over-ssh');
    const { id } = await b().invoke('containers:run', { image: TEST_IMAGE, name: 'over-ssh', command: ['sleep', '60'], network: 'none' });
    expect((await started).id).toBe(id);
    const ps = await daemon().docker(['ps', '--format', '{{.Names}}']);
    expect(ps.stdout).toContain('over-ssh');
    expect((await b().invoke('containers:action', { ids: [id], action: 'remove' })).failed).toEqual([]);
  });

  async function statusOf(over: Record<string, unknown>) {
    const other = await startBerthApp({ mode: 'browser', target: target(over) });
    try {
      return other.engine.status;
    } finally {
      await other.close();
    }
  }

  it('refuses a host whose key known_hosts does not list, or lists differently, saying what to do', async () => {
    const unlisted = join(daemon().root, 'known_hosts.empty');
    await writeFile(unlisted, '');
    const unknown = await statusOf({ knownHostsPath: unlisted });
    expect(unknown.state).toBe('disconnected');
    expect(unknown.error).toMatch(/is not in .*known_hosts\.empty.*ssh -p \d+ root@127\.0\.0\.1/);

    const wrong = join(daemon().root, 'known_hosts.wrong');
    await writeFile(wrong, `[127.0.0.1]:${sshd?.port ?? 0} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake\n`);
    const changed = await statusOf({ knownHostsPath: wrong });
    expect(changed.error).toMatch(/not the one .* lists for it/);
  });

  it('reports a refused login as a clear connection error', async () => {
    const status = await statusOf({ username: 'nobody-here', privateKeyPath: undefined });
    expect(status.state).toBe('disconnected');
    expect(status.error).toMatch(/nobody-here@127\.0\.0\.1/);
  });
});
