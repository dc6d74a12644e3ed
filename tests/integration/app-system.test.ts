import { describe, expect, it } from 'vitest';
import type { BridgeFailure } from '../../electron/shared/bridge.js';
import { useApp } from '../support/app.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

/**
 * The dashboard's and settings' channels against a real berthd through the real bridge:
 * system:info and system:df agree with what exists, prune removes and reports, settings
 * persist and are pushed, and the connection can be pointed away and back.
 */
const daemon = useDaemon({ image: 'oci' });
const app = useApp(daemon);

async function must(args: readonly string[]): Promise<string> {
  const r = await daemon().docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('system', () => {
  it('reports engine info and disk usage consistent with what exists', async () => {
    await must(['run', '-d', '--name', 'df-running', TEST_IMAGE, 'sleep', '60']);
    await must(['create', '--name', 'df-stopped', TEST_IMAGE, 'true']);
    await must(['volume', 'create', 'df-vol']);

    const info = await app().bridge.invoke('system:info', undefined);
    expect(info.isBerth).toBe(true);
    expect(info.cpus).toBeGreaterThan(0);
    expect(info.memoryBytes).toBeGreaterThan(0);
    expect(info.containers).toMatchObject({ total: 2, running: 1 });

    const df = await app().bridge.invoke('system:df', undefined);
    const images = (await must(['images', '-q', '--no-trunc'])).split('\n').filter(Boolean);
    expect(df.images.count).toBe(new Set(images).size);
    expect(df.images.active).toBe(1);
    expect(df.images.sizeBytes).toBeGreaterThan(0);
    expect(df.containers).toMatchObject({ count: 2, active: 1 });
    expect(df.volumes.count).toBe(1);
    expect(df.volumes.active).toBe(0);
    for (const part of [df.images, df.containers, df.volumes, df.buildCache]) {
      expect(part.reclaimableBytes).toBeLessThanOrEqual(part.sizeBytes);
      expect(part.reclaimableBytes).toBeGreaterThanOrEqual(0);
    }
  });

  it('prunes stopped containers and says how many', async () => {
    const result = await app().bridge.invoke('system:prune', { targets: ['containers'] });
    expect(result.deleted).toBe(1);
    expect((await daemon().docker(['inspect', 'df-stopped'])).code).not.toBe(0);
    expect((await daemon().docker(['inspect', 'df-running'])).code).toBe(0);
    const volumes = await app().bridge.invoke('system:prune', { targets: ['volumes'] });
    expect(volumes.deleted).toBe(1);
    const df = await app().bridge.invoke('system:df', undefined);
    expect(df.containers.count).toBe(1);
    expect(df.volumes.count).toBe(0);
    await must(['rm', '-f', 'df-running']);
  });

  it('refuses an unknown prune target', async () => {
    const err = (await app()
      .bridge.invoke('system:prune', { targets: ['everything' as never] })
      .catch((e: unknown) => e)) as BridgeFailure;
    expect(err.code).toBe('invalid-argument');
  });
});

describe('settings', () => {
  it('persists a theme change and pushes it as settings:changed', async () => {
    const pushed = app().bridge.next('settings:changed', (s) => s.theme === 'dark');
    const updated = await app().bridge.invoke('settings:update', { theme: 'dark' });
    expect(updated.theme).toBe('dark');
    expect((await pushed).theme).toBe('dark');
    expect((await app().bridge.invoke('settings:get', undefined)).theme).toBe('dark');
    await app().bridge.invoke('settings:update', { statsIntervalMs: 2000 });
    expect(await app().bridge.invoke('settings:get', undefined)).toMatchObject({ theme: 'dark', statsIntervalMs: 2000 });
  });
});

describe('connection', () => {
  it('reports a missing socket as disconnected, naming the path, and reconnects to the daemon', async () => {
    const missing = '/tmp/berth-no-such-dir/engine.sock';
    const away = await app().bridge.invoke('connection:set', { kind: 'socket', socketPath: missing });
    expect(away.state).toBe('disconnected');
    expect(away.error).toContain(missing);
    const failed = (await app()
      .bridge.invoke('images:list', undefined)
      .catch((e: unknown) => e)) as BridgeFailure;
    expect(failed.code).toBe('engine-unreachable');

    const back = await app().bridge.invoke('connection:set', { kind: 'local', socketPath: daemon().socket });
    expect(back.state).toBe('connected');
    expect(back.engine?.isBerth).toBe(true);
    expect((await app().bridge.invoke('connection:status', undefined)).state).toBe('connected');
    expect((await app().bridge.invoke('images:list', undefined)).some((i) => i.tags.includes(TEST_IMAGE))).toBe(true);
  });
});
