import { describe, expect, it } from 'vitest';
import { BridgeFailure } from '../../electron/shared/bridge.js';
import { useApp } from '../support/app.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

async function refusal(p: Promise<unknown>): Promise<BridgeFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have been refused').toBeInstanceOf(BridgeFailure);
  return err as BridgeFailure;
}

describe('networks through the app', () => {
  const daemon = useDaemon({ image: 'oci' });
  const app = useApp(daemon);

  it('lists the built-in networks as built-in, and refuses to remove them', async () => {
    const { bridge } = app();
    const listed = await bridge.invoke('networks:list', undefined);
    const bridgeNet = listed.find((n) => n.name === 'bridge');
    expect(bridgeNet).toMatchObject({ builtIn: true, driver: 'bridge' });
    expect(bridgeNet?.subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    for (const name of ['bridge', 'host', 'none']) {
      const err = await refusal(bridge.invoke('networks:remove', { id: name }));
      expect(err.message).toMatch(/built-in network and cannot be removed/);
    }
    expect((await bridge.invoke('networks:list', undefined)).map((n) => n.name)).toEqual(expect.arrayContaining(['bridge', 'host', 'none']));
  });

  it('refuses a bad subnet, gateway or name before it reaches the engine', async () => {
    const { bridge } = app();
    const cases: [Record<string, string>, RegExp][] = [
      [{ name: 'n1', subnet: '10.77.0.0' }, /not an IPv4 CIDR/],
      [{ name: 'n1', subnet: '10.77.0.0/33' }, /not an IPv4 CIDR/],
      [{ name: 'n1', subnet: '300.1.0.0/16' }, /not an IPv4 CIDR/],
      [{ name: 'n1', subnet: '10.77.0.1/24' }, /host bits set: did you mean 10\.77\.0\.0\/24/],
      [{ name: 'n1', subnet: '10.77.0.0/24', gateway: '10.78.0.1' }, /outside the subnet/],
      [{ name: 'n1', subnet: '10.77.0.0/24', gateway: '10.77.0' }, /not an IPv4 address/],
      [{ name: 'n1', gateway: '10.77.0.1' }, /needs a subnet/],
      [{ name: 'bad name' }, /not a valid network name/],
      [{ name: 'host' }, /built-in/],
    ];
    for (const [args, message] of cases) {
      const err = await refusal(bridge.invoke('networks:create', args as { name: string }));
      expect(err.code, JSON.stringify(args)).toBe('invalid-argument');
      expect(err.message).toMatch(message);
    }
    const after = await daemon().docker(['network', 'ls', '--format', '{{.Name}}']);
    expect(after.stdout.split('\n')).not.toContain('n1');
  });

  it('creates a network with a subnet, connects and disconnects a running container, removes it', async () => {
    const { bridge } = app();
    const created = await bridge.invoke('networks:create', { name: 'appnet', subnet: '10.77.0.0/24', gateway: '10.77.0.1', labels: { team: 'berth' } });
    expect(created).toMatchObject({ name: 'appnet', subnet: '10.77.0.0/24', gateway: '10.77.0.1', internal: false, builtIn: false, labels: { team: 'berth' }, members: [] });
    const dup = await refusal(bridge.invoke('networks:create', { name: 'appnet' }));
    expect(dup.status).toBe(409);

    const run = await daemon().docker(['run', '-d', '--name', 'member', TEST_IMAGE, 'sleep', '300']);
    expect(run.code, run.stderr).toBe(0);
    await bridge.invoke('networks:connect', { network: 'appnet', container: 'member' });
    const all = await bridge.invoke('networks:list', undefined);
    expect(all.find((n) => n.name === 'bridge')?.members.map((m) => m.name)).toEqual(['member']);
    const listed = all.find((n) => n.name === 'appnet');
    expect(listed).toMatchObject({ subnet: '10.77.0.0/24', gateway: '10.77.0.1' });
    expect(listed?.members).toHaveLength(1);
    expect(listed?.members[0]?.name).toBe('member');
    expect(listed?.members[0]?.ipv4).toMatch(/^10\.77\.0\.\d+$/);
    const ip = await daemon().docker(['exec', 'member', 'ip', '-4', 'addr']);
    expect(ip.stdout).toContain(listed?.members[0]?.ipv4);

    const inspect = (await bridge.invoke('networks:inspect', { id: 'appnet' })) as { Name?: string };
    expect(inspect.Name).toBe('appnet');

    const inUse = await refusal(bridge.invoke('networks:remove', { id: 'appnet' }));
    expect(inUse.status).toBeGreaterThanOrEqual(400);
    await bridge.invoke('networks:disconnect', { network: 'appnet', container: 'member' });
    expect((await bridge.invoke('networks:list', undefined)).find((n) => n.name === 'appnet')?.members).toEqual([]);
    await bridge.invoke('networks:remove', { id: created.id });
    expect((await bridge.invoke('networks:list', undefined)).some((n) => n.name === 'appnet')).toBe(false);
    await daemon().docker(['rm', '-f', 'member']);
  });

  it('creates an internal network', async () => {
    const { bridge } = app();
    const created = await bridge.invoke('networks:create', { name: 'inside', internal: true });
    expect(created).toMatchObject({ name: 'inside', internal: true });
    expect(created.subnet).toMatch(/\/\d+$/);
    await bridge.invoke('networks:remove', { id: 'inside' });
    expect((await refusal(bridge.invoke('networks:remove', { id: 'inside' }))).code).toBe('not-found');
  });
});
