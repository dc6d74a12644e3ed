import type { ContainerSummary, RunRequest } from '@shared/bridge.js';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { setBridge } from '../../renderer/src/bridge/index.js';
import { useConnection } from '../../renderer/src/stores/connection.js';
import ContainersView from '../../renderer/src/views/ContainersView.vue';
import { FakeBridge } from './fake-bridge.js';

function container(name: string, change: Partial<ContainerSummary> = {}): ContainerSummary {
  return {
    id: `${name.padEnd(12, '0')}${'a'.repeat(52)}`,
    name,
    image: 'nginx:latest',
    imageId: 'sha256:1',
    command: 'nginx',
    state: 'running',
    status: 'Up 2 minutes',
    createdAt: '2026-01-01T00:00:00Z',
    ports: [],
    labels: {},
    networks: ['bridge'],
    mounts: [],
    ...change,
  };
}

const LIST = [
  container('web', { ports: [{ containerPort: 80, protocol: 'tcp', hostPort: 8080, hostIp: '0.0.0.0' }, { containerPort: 443, protocol: 'tcp' }], composeProject: 'shop', labels: { 'com.docker.compose.project': 'shop' } }),
  container('db', { image: 'postgres:16', composeProject: 'shop', labels: { 'com.docker.compose.project': 'shop' } }),
  container('worker', { image: 'busybox', state: 'exited', status: 'Exited (0) 1 hour ago' }),
];

async function mountView(fake: FakeBridge) {
  setBridge(fake);
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', component: { template: '<div />' } }] });
  await router.push('/containers');
  const connection = useConnection();
  await connection.start();
  const wrapper = mount(ContainersView, { global: { plugins: [router] }, attachTo: document.body });
  await flushPromises();
  await new Promise((r) => setTimeout(r, 200)); // the list store's coalesced first load
  await flushPromises();
  return wrapper;
}

function bridgeWith(list: ContainerSummary[]): FakeBridge {
  const fake = new FakeBridge();
  fake
    .respond('connection:status', () => ({ target: { kind: 'local' }, state: 'connected', engine: { cpus: 4 } as never }))
    .respond('app:info', () => ({ version: '0', mode: 'browser', platform: 'linux', vmAvailable: false }))
    .respond('containers:list', () => list)
    .respond('stats:watch', () => undefined)
    .respond('subscription:close', () => undefined)
    .respond('containers:action', () => ({ failed: [] }));
  return fake;
}

const rowNames = (w: Awaited<ReturnType<typeof mountView>>) => w.findAll('table[aria-label="Containers"] tbody tr:not(.group-row) a.name').map((a) => a.text());

describe('ContainersView', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    document.body.innerHTML = '';
  });

  it('renders rows from containers:list with links, published ports and Compose groups', async () => {
    const fake = bridgeWith(LIST);
    const w = await mountView(fake);
    expect(w.find('h1').text()).toBe('Containers');
    expect(rowNames(w)).toEqual(['db', 'web', 'worker']);
    const link = w.find('a.name');
    expect(link.attributes('href')).toBe(`/containers/${LIST[1]?.id ?? ''}`);
    const ports = w.findAll('td.ports a');
    expect(ports.map((a) => [a.text(), a.attributes('href')])).toEqual([['8080:80', 'http://localhost:8080']]);
    expect(w.findAll('tr.group-row').map((r) => r.text())).toEqual(['shop (2/2 running)', 'Standalone containers (0/1 running)']);
    // Live stats for the running containers on screen only.
    expect(fake.callsTo('stats:watch')).toEqual([expect.objectContaining({ ids: [LIST[1]?.id, LIST[0]?.id].sort(), intervalMs: 1000 })]);
    // Samples pushed for the watch draw the row's sparklines, one point per tick.
    const watch = fake.callsTo('stats:watch')[0] as { subscription: string };
    for (let i = 1; i <= 3; i++) {
      const web = LIST[0];
      if (web === undefined) break;
      fake.emit('stats:samples', {
        subscription: watch.subscription,
        time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        samples: [{ id: web.id, name: 'web', cpuPercent: 12.5 * i, memoryUsage: 4 << 20, memoryLimit: 1 << 30, pids: 2, netRx: 0, netTx: 0, blkioRead: 0, blkioWrite: 0 }],
      });
      await flushPromises();
    }
    expect(w.find('svg[aria-label="CPU of web"]').attributes('data-points')).toBe('3');
    expect(w.find(`tr[data-id="${LIST[0]?.id ?? ''}"]`).text()).toContain('38%');
    expect(w.find('[aria-label="Start worker"]').exists()).toBe(true);
    expect(w.find('[aria-label="Stop worker"]').exists()).toBe(false);
    expect(w.find('[aria-label="Pause web"]').exists()).toBe(true);
    w.unmount();
    expect(fake.callsTo('subscription:close')).toHaveLength(1);
  });

  it('searches by name or image, filters by state, and re-watches stats for what is shown', async () => {
    const fake = bridgeWith(LIST);
    const w = await mountView(fake);
    await w.find('input[aria-label="Search containers"]').setValue('postgres');
    expect(rowNames(w)).toEqual(['db']);
    await flushPromises();
    expect(fake.callsTo('stats:watch').at(-1)).toMatchObject({ ids: [LIST[1]?.id] });
    await w.find('input[aria-label="Search containers"]').setValue('');
    await w.find('select[aria-label="State"]').setValue('exited');
    expect(rowNames(w)).toEqual(['worker']);
    await w.find('input[aria-label="Search containers"]').setValue('zzz');
    expect(w.text()).toContain('No containers match');
    w.unmount();
  });

  it('asks before removing, then sends containers:action; bulk actions use the selection', async () => {
    const fake = bridgeWith(LIST);
    const w = await mountView(fake);
    await w.find('[aria-label="Remove web"]').trigger('click');
    const dialog = w.find('dialog[aria-label="Remove web?"]');
    expect(dialog.exists()).toBe(true);
    expect(fake.callsTo('containers:action')).toHaveLength(0);
    const confirm = dialog.findAll('button').find((b) => b.text() === 'Remove');
    await confirm?.trigger('click');
    await flushPromises();
    expect(fake.callsTo('containers:action')).toEqual([{ ids: [LIST[0]?.id], action: 'remove' }]);

    await w.find('[aria-label="Kill db"]').trigger('click');
    await w
      .find('dialog[aria-label="Kill db?"]')
      .findAll('button')
      .find((b) => b.text() === 'Cancel')
      ?.trigger('click');
    expect(fake.callsTo('containers:action')).toHaveLength(1);

    await w.find('input[aria-label="Select db"]').setValue(true);
    await w.find('input[aria-label="Select worker"]').setValue(true);
    const stop = w.findAll('button').find((b) => b.text() === 'Stop selected');
    await stop?.trigger('click');
    await flushPromises();
    expect(fake.callsTo('containers:action').at(-1)).toEqual({ ids: [LIST[1]?.id, LIST[2]?.id], action: 'stop' });
    await w.findAll('button').find((b) => b.text() === 'Remove selected')?.trigger('click');
    expect(fake.callsTo('containers:action')).toHaveLength(2);
    await w.find('dialog[aria-label="Remove 2 containers?"]').findAll('button').find((b) => b.text() === 'Remove')?.trigger('click');
    await flushPromises();
    expect(fake.callsTo('containers:action').at(-1)).toEqual({ ids: [LIST[1]?.id, LIST[2]?.id], action: 'remove' });
    w.unmount();
  });

  it('stops sampling rows scrolled out of view', async () => {
    const observers: { callback: IntersectionObserverCallback; targets: Element[] }[] = [];
    class FakeObserver {
      readonly targets: Element[] = [];
      constructor(readonly callback: IntersectionObserverCallback) {
        observers.push(this);
      }
      observe(el: Element) {
        this.targets.push(el);
      }
      disconnect() {
        this.targets.length = 0;
      }
    }
    const real = globalThis.IntersectionObserver;
    globalThis.IntersectionObserver = FakeObserver as unknown as typeof IntersectionObserver;
    try {
      const fake = bridgeWith(LIST);
      const w = await mountView(fake);
      const observer = observers.at(-1);
      const web = observer?.targets.find((t) => (t as HTMLElement).dataset['id'] === LIST[0]?.id);
      expect(web).toBeDefined();
      observer?.callback([{ target: web, isIntersecting: false } as unknown as IntersectionObserverEntry], observer as unknown as IntersectionObserver);
      await flushPromises();
      expect(fake.callsTo('stats:watch').at(-1)).toMatchObject({ ids: [LIST[1]?.id] });
      w.unmount();
    } finally {
      globalThis.IntersectionObserver = real;
    }
  });

  it('explains what to do first when there are no containers', async () => {
    const w = await mountView(bridgeWith([]));
    expect(w.find('section[aria-label="No containers yet"]').text()).toMatch(/Run a container[\s\S]*load an image/);
    w.unmount();
  });

  it('the Run dialog refuses bad input without sending, then sends a correct RunRequest', async () => {
    const fake = bridgeWith(LIST);
    const sent: RunRequest[] = [];
    fake.respond('containers:run', (r) => {
      sent.push(r);
      return { id: 'new-id' };
    });
    const w = await mountView(fake);
    await w.findAll('button').find((b) => b.text() === 'Run container')?.trigger('click');
    await flushPromises();
    const dialog = w.find('dialog[aria-label="Run a container"]');
    expect(dialog.attributes('open')).toBeDefined();
    const field = (label: string) => dialog.find(`#${dialog.findAll('label').find((l) => l.text() === label)?.attributes('for') ?? 'none'}`);
    await field('Name').setValue('bad name!');
    await field('Ports').setValue('8080:http');
    await field('Memory limit').setValue('huge');
    await dialog.find('form').trigger('submit');
    await flushPromises();
    const alerts = dialog.findAll('[role="alert"]').map((a) => a.text());
    expect(alerts).toEqual([
      'Enter an image, e.g. nginx:latest',
      'Letters, digits and _ . - only, starting with a letter or digit',
      'port "8080:http": container port "http" is not a number',
      '"huge" is not a size: write e.g. 512m or 1g',
    ]);
    expect(field('Image').attributes('aria-invalid')).toBe('true');
    expect(fake.callsTo('containers:run')).toHaveLength(0);

    await field('Image').setValue('nginx:latest');
    await field('Name').setValue('web2');
    await field('Command').setValue('nginx -g "daemon off;"');
    await field('Ports').setValue('8081:80');
    await field('Environment variables').setValue('MODE=prod');
    await field('Volumes').setValue('site:/usr/share/nginx/html:ro');
    await field('Memory limit').setValue('256m');
    await field('CPUs').setValue('2');
    await dialog.find('form').trigger('submit');
    await flushPromises();
    expect(sent).toEqual([
      {
        image: 'nginx:latest',
        name: 'web2',
        command: ['nginx', '-g', 'daemon off;'],
        env: [{ name: 'MODE', value: 'prod' }],
        ports: [{ containerPort: 80, protocol: 'tcp', hostPort: 8081 }],
        mounts: [{ kind: 'volume', source: 'site', target: '/usr/share/nginx/html', readOnly: true }],
        restartPolicy: 'no',
        memoryBytes: 256 * 1024 * 1024,
        cpus: 2,
        autoRemove: false,
      },
    ]);
    expect(dialog.attributes('open')).toBeUndefined();
    w.unmount();
  });

  it('shows the engine\'s message when the run fails', async () => {
    const fake = bridgeWith(LIST).fail('containers:run', 'No image "nope:1" here. Pull it on the Images page first, or check the name.', 404);
    const w = await mountView(fake);
    await w.findAll('button').find((b) => b.text() === 'Run container')?.trigger('click');
    const dialog = w.find('dialog[aria-label="Run a container"]');
    await dialog.find('#run-image').setValue('nope:1');
    await dialog.find('form').trigger('submit');
    await flushPromises();
    expect(dialog.find('[role="alert"]').text()).toMatch(/No image "nope:1" here\. Pull it/);
    expect(dialog.attributes('open')).toBeDefined();
    w.unmount();
  });
});
