import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../electron/shared/bridge.js';
import { useApp } from '../support/app.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

type Inspect = {
  Config: { Env: string[]; Cmd: string[] };
  HostConfig: { Memory: number; NanoCpus: number; AutoRemove: boolean; RestartPolicy: { Name: string }; PortBindings: Record<string, { HostPort: string }[]> };
};

// The Run dialog's and the table's channels through the app, against a real berthd.
describe('app: containers', () => {
  const daemon = useDaemon({ image: 'oci' });
  const app = useApp(daemon);

  it('containers:run with ports, env, a volume, a bind and limits; inspect and list show them', async () => {
    const { bridge } = app();
    const dir = await mkdtemp(join(tmpdir(), 'berth-app-bind-'));
    await writeFile(join(dir, 'hello.txt'), 'from the host\n');
    try {
      const { id } = await bridge.invoke('containers:run', {
        image: TEST_IMAGE,
        name: 'full',
        command: ['sh', '-c', 'cat /host/hello.txt; echo "$GREETING"; sleep 300'],
        env: [{ name: 'GREETING', value: 'hi there' }],
        ports: [{ containerPort: 80, protocol: 'tcp' }],
        mounts: [
          { kind: 'volume', source: 'app-data', target: '/data' },
          { kind: 'bind', source: dir, target: '/host', readOnly: true },
        ],
        restartPolicy: 'unless-stopped',
        memoryBytes: 128 * 1024 * 1024,
        cpus: 0.5,
      });
      const detail = await bridge.invoke('containers:inspect', { id });
      expect(detail).toMatchObject({ id, name: 'full', state: 'running', memoryLimitBytes: 128 * 1024 * 1024, restartPolicy: 'unless-stopped', tty: false });
      const published = detail.ports.find((p) => p.containerPort === 80);
      expect(published?.hostPort).toBeGreaterThan(0);
      expect(detail.mounts).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'volume', name: 'app-data', destination: '/data', readOnly: false }),
          expect.objectContaining({ type: 'bind', source: dir, destination: '/host', readOnly: true }),
        ]),
      );
      const raw = detail.inspect as unknown as Inspect & JsonValue;
      expect(raw.Config.Env).toContain('GREETING=hi there');
      expect(raw.HostConfig.NanoCpus).toBe(500_000_000);
      const listed = (await bridge.invoke('containers:list', undefined)).find((c) => c.id === id);
      expect(listed).toMatchObject({ name: 'full', image: TEST_IMAGE, state: 'running' });
      expect(listed?.ports).toEqual(expect.arrayContaining([expect.objectContaining({ containerPort: 80, hostPort: published?.hostPort })]));
      let lines: string[] = [];
      for (let i = 0; i < 30 && lines.length < 2; i++) {
        lines = (await bridge.invoke('logs:open', { id, tail: 10 })).map((l) => l.text);
        if (lines.length < 2) await new Promise((r) => setTimeout(r, 100));
      }
      expect(lines).toEqual(['from the host', 'hi there']);
      await bridge.invoke('containers:action', { ids: [id], action: 'remove' });
      await bridge.invoke('volumes:remove', { name: 'app-data', force: true }).catch(async () => {
        await daemon().docker(['volume', 'rm', 'app-data']);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a missing image fails with a message that says what to do, and leaves no container', async () => {
    const { bridge } = app();
    const before = (await bridge.invoke('containers:list', undefined)).length;
    await expect(bridge.invoke('containers:run', { image: 'berth.test/nothing-here:1', name: 'ghost' })).rejects.toThrow(/No image "berth\.test\/nothing-here:1" here\. Pull it/);
    await expect(bridge.invoke('containers:run', { image: TEST_IMAGE, ports: [{ containerPort: 0, protocol: 'tcp' }] })).rejects.toThrow(/container port must be between 1 and 65535/);
    const after = await bridge.invoke('containers:list', undefined);
    expect(after).toHaveLength(before);
    expect(after.map((c) => c.name)).not.toContain('ghost');
  });

  it('containers:action acts on several ids at once and reports each failure', async () => {
    const { bridge } = app();
    const ids: string[] = [];
    for (const name of ['multi-1', 'multi-2', 'multi-3']) ids.push((await bridge.invoke('containers:run', { image: TEST_IMAGE, name, command: ['sleep', '300'], network: 'none' })).id);
    const state = async () => new Map((await bridge.invoke('containers:list', undefined)).map((c) => [c.name, c.state]));

    expect(await bridge.invoke('containers:action', { ids: ids.slice(0, 2), action: 'pause' })).toEqual({ failed: [] });
    expect((await state()).get('multi-1')).toBe('paused');
    expect((await state()).get('multi-3')).toBe('running');
    expect(await bridge.invoke('containers:action', { ids: ids.slice(0, 2), action: 'unpause' })).toEqual({ failed: [] });
    expect(await bridge.invoke('containers:action', { ids, action: 'kill' })).toEqual({ failed: [] });
    const killed = await state();
    for (const name of ['multi-1', 'multi-2', 'multi-3']) expect(killed.get(name)).toBe('exited');
    expect(await bridge.invoke('containers:action', { ids: [ids[0] ?? '', 'no-such-one'], action: 'start' })).toEqual({ failed: [{ id: 'no-such-one', message: expect.stringMatching(/no such container/i) as string }] });
    expect((await state()).get('multi-1')).toBe('running');
    expect(await bridge.invoke('containers:action', { ids, action: 'remove' })).toEqual({ failed: [] });
    expect([...(await state()).keys()].filter((n) => n.startsWith('multi-'))).toEqual([]);
  });
});
