import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ContainerSummary, DiskUsage } from '../../electron/shared/bridge.js';
import { setBridge } from '../../renderer/src/bridge/index.js';
import { useConnection } from '../../renderer/src/stores/connection.js';
import { useSettings } from '../../renderer/src/stores/settings.js';
import DashboardView from '../../renderer/src/views/DashboardView.vue';
import { FakeBridge } from './fake-bridge.js';

let fake: FakeBridge;

const engine = {
  name: 'berthd', isBerth: true, version: '0.1.0', apiVersion: '1.43', os: 'Debian GNU/Linux 12', arch: 'amd64', kernel: '6.1.0-test',
  hostname: 'dev', cpus: 8, memoryBytes: 16 * 1024 ** 3, cgroupVersion: '1', storageDriver: 'overlay2',
  containers: { total: 3, running: 1, paused: 1, stopped: 1 }, images: 2,
};

const container = (name: string, state: ContainerSummary['state']): ContainerSummary => ({
  id: name, name, image: 'busybox', imageId: 'sha256:1', command: 'sh', state, status: state, createdAt: new Date().toISOString(),
  ports: [], labels: {}, networks: [], mounts: [],
});

const part = (count: number, active: number, sizeBytes: number, reclaimableBytes: number) => ({ count, active, sizeBytes, reclaimableBytes });
let df: DiskUsage;

beforeEach(() => {
  document.body.innerHTML = '';
  setActivePinia(createPinia());
  df = { images: part(2, 1, 5_000_000, 2_000_000), containers: part(3, 2, 4000, 1000), volumes: part(1, 0, 12_000, 12_000), buildCache: part(0, 0, 0, 0) };
  fake = new FakeBridge()
    .respond('connection:status', () => ({ target: { kind: 'local' }, state: 'connected', engine }))
    .respond('app:info', () => ({ version: '0', mode: 'browser', platform: 'linux', vmAvailable: false }))
    .respond('containers:list', () => [container('a', 'running'), container('b', 'paused'), container('c', 'exited')])
    .respond('system:info', () => engine)
    .respond('system:df', () => df)
    .respond('stats:watch', () => undefined)
    .respond('subscription:close', () => undefined)
    .respond('system:prune', () => {
      df = { ...df, containers: part(2, 2, 3000, 0) };
      return { deleted: 1, reclaimedBytes: 1000 };
    });
  setBridge(fake);
});

async function mountDashboard() {
  await useConnection().start();
  const w = mount(DashboardView, { attachTo: document.body });
  await flushPromises();
  return w;
}

describe('DashboardView', () => {
  it('shows engine and host info, counts by state, the aggregate charts and disk usage', async () => {
    const w = await mountDashboard();
    expect(w.get('h1').text()).toBe('Dashboard');
    expect(w.text()).toContain('berthd');
    expect(w.text()).toContain('6.1.0-test');
    expect(w.text()).toContain('16.0 GiB');
    expect(w.get('[data-count="total"]').text()).toBe('3');
    expect(w.get('[data-count="running"]').text()).toBe('1');
    expect(w.get('[data-count="paused"]').text()).toBe('1');
    expect(w.get('[data-count="stopped"]').text()).toBe('1');
    expect(w.find('figure[aria-label="CPU (all containers)"]').exists()).toBe(true);
    expect(w.find('figure[aria-label="Memory (all containers)"]').exists()).toBe(true);
    expect(fake.callsTo('stats:watch')).toMatchObject([{ ids: 'all', intervalMs: 1000 }]);
    const volumes = w.get('tr[data-kind="volumes"]').text();
    expect(volumes).toContain('12.0 kB');
    for (const name of ['Prune containers', 'Prune images', 'Prune volumes', 'Prune build cache']) expect(w.findAll('button').some((b) => b.text() === name)).toBe(true);
    w.unmount();
    expect(fake.callsTo('subscription:close')).toHaveLength(1);
  });

  it('refreshes disk usage on engine events only while it is on screen, and not for exec events', async () => {
    vi.useFakeTimers();
    try {
      const w = await mountDashboard();
      const dfCalls = () => fake.callsTo('system:df').length;
      const before = dfCalls();
      const event = (action: string) => fake.emit('engine:event', { type: 'container', action, id: 'a', time: Date.now(), attributes: {} });
      event('exec_start');
      await vi.advanceTimersByTimeAsync(1500);
      expect(dfCalls()).toBe(before);
      event('die');
      await vi.advanceTimersByTimeAsync(1500);
      expect(dfCalls()).toBe(before + 1);
      w.unmount();
      event('start');
      await vi.advanceTimersByTimeAsync(1500);
      expect(dfCalls()).toBe(before + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('prunes only after the confirmation, then shows the new numbers and what was reclaimed', async () => {
    const w = await mountDashboard();
    await w.findAll('button').find((b) => b.text() === 'Prune containers')?.trigger('click');
    await flushPromises();
    expect(fake.callsTo('system:prune')).toHaveLength(0);
    const dialog = document.querySelector('dialog[aria-label="Prune containers?"]') as HTMLDialogElement;
    expect(dialog.textContent).toContain('stopped container');
    [...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Prune')?.click();
    await flushPromises();
    expect(fake.callsTo('system:prune')).toEqual([{ targets: ['containers'], allImages: false }]);
    expect(w.get('tr[data-kind="containers"]').text()).toContain('3.00 kB');
    expect(w.get('[role="status"]').text()).toBe('Pruned containers: 1 removed, 1.00 kB reclaimed.');
  });

  it('restarts the aggregate samples when the stats interval setting changes', async () => {
    fake.respond('settings:get', () => ({ theme: 'system', connection: { kind: 'local' }, statsIntervalMs: 1000, vm: null }));
    const settings = useSettings();
    await settings.start();
    await mountDashboard();
    fake.emit('settings:changed', { theme: 'system', connection: { kind: 'local' }, statsIntervalMs: 5000, vm: null });
    await flushPromises();
    expect(fake.callsTo('stats:watch')).toMatchObject([{ intervalMs: 1000 }, { intervalMs: 5000 }]);
    expect(fake.callsTo('subscription:close')).toHaveLength(1);
  });
});
