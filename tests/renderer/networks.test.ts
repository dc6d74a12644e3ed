import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { ContainerSummary, NetworkSummary } from '../../electron/shared/bridge.js';
import { setBridge } from '../../renderer/src/bridge/index.js';
import { routes } from '../../renderer/src/router.js';
import { useConnection } from '../../renderer/src/stores/connection.js';
import { networkFormProblems } from '../../renderer/src/stores/networks.js';
import NetworksView from '../../renderer/src/views/NetworksView.vue';
import { FakeBridge } from './fake-bridge.js';

const network = (name: string, extra: Partial<NetworkSummary> = {}): NetworkSummary => ({
  id: `${name}-id`.padEnd(64, '0'),
  name,
  driver: name === 'host' || name === 'none' ? name : 'bridge',
  scope: 'local',
  internal: false,
  builtIn: ['bridge', 'host', 'none'].includes(name),
  createdAt: new Date(Date.now() - 60_000).toISOString(),
  labels: {},
  members: [],
  ...extra,
});

const container = (id: string, name: string): ContainerSummary => ({
  id,
  name,
  image: 'busybox',
  imageId: 'sha256:1',
  command: 'sleep 300',
  state: 'running',
  status: 'Up 1 minute',
  createdAt: new Date().toISOString(),
  ports: [],
  labels: {},
  networks: ['bridge'],
  mounts: [],
});

let fake: FakeBridge;

async function mountView(): Promise<VueWrapper> {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push('/networks');
  await useConnection().start();
  const w = mount(NetworksView, { global: { plugins: [router] }, attachTo: document.body });
  await flushPromises();
  return w;
}

function buttonIn(root: ParentNode, name: string): HTMLButtonElement {
  const b = [...root.querySelectorAll('button')].find((e) => e.getAttribute('aria-label') === name || e.textContent?.trim() === name);
  if (b === undefined) throw new Error(`no button ${name}`);
  return b;
}

beforeEach(() => {
  document.body.innerHTML = '';
  setActivePinia(createPinia());
  fake = new FakeBridge()
    .respond('connection:status', () => ({ target: { kind: 'local' }, state: 'connected' }))
    .respond('app:info', () => ({ version: '0', mode: 'browser', platform: 'linux', vmAvailable: false }))
    .respond('networks:list', () => [
      network('bridge', { subnet: '172.17.0.0/16', gateway: '172.17.0.1' }),
      network('host'),
      network('none'),
      network('appnet', { subnet: '10.5.0.0/24', gateway: '10.5.0.1', members: [{ id: 'c1', name: 'web', ipv4: '10.5.0.2', mac: '02:42:0a:05:00:02' }] }),
    ])
    .respond('containers:list', () => [container('c1', 'web'), container('c2', 'db')])
    .respond('networks:create', (args) => network(args.name))
    .respond('networks:remove', () => undefined)
    .respond('networks:connect', () => undefined)
    .respond('networks:disconnect', () => undefined)
    .respond('networks:inspect', () => ({ Name: 'appnet', Driver: 'bridge' }));
  setBridge(fake);
});

describe('NetworksView', () => {
  it('lists networks with subnet and gateway; built-in ones cannot be removed', async () => {
    const w = await mountView();
    const table = w.find('table[aria-label="Networks"]');
    expect(table.findAll('tbody tr')).toHaveLength(4);
    expect(table.text()).toContain('10.5.0.0/24');
    expect(table.text()).toContain('172.17.0.1');
    expect(buttonIn(document, 'Remove bridge').disabled).toBe(true);
    expect(buttonIn(document, 'Remove host').disabled).toBe(true);
    expect(buttonIn(document, 'Remove appnet').disabled).toBe(false);
    w.unmount();
  });

  it('the Create dialog checks name, subnet and gateway before it sends', async () => {
    const w = await mountView();
    buttonIn(document, 'Create network').click();
    await flushPromises();
    const dialog = w.find('dialog[aria-label="Create a network"]');
    expect((dialog.element as HTMLDialogElement).open).toBe(true);
    await dialog.find('#network-name').setValue('appnet');
    await dialog.find('#network-subnet').setValue('10.6.0.1/24');
    await dialog.find('#network-gateway').setValue('10.7.0.1');
    await dialog.find('form').trigger('submit');
    const alerts = dialog.findAll('[role="alert"]').map((a) => a.text());
    expect(alerts).toEqual([expect.stringMatching(/already exists/), expect.stringMatching(/host bits set/)]);
    await dialog.find('#network-subnet').setValue('10.6.0.0/24');
    expect(dialog.findAll('[role="alert"]').map((a) => a.text())).toEqual([expect.stringMatching(/already exists/), expect.stringMatching(/inside the subnet/)]);
    expect(fake.callsTo('networks:create')).toEqual([]);

    await dialog.find('#network-name').setValue('backend');
    await dialog.find('#network-subnet').setValue('10.6.0.0/24');
    await dialog.find('#network-gateway').setValue('10.6.0.1');
    await dialog.find('input[type="checkbox"]').setValue(true);
    await dialog.find('form').trigger('submit');
    await flushPromises();
    expect(fake.callsTo('networks:create')).toEqual([{ name: 'backend', subnet: '10.6.0.0/24', gateway: '10.6.0.1', internal: true }]);
    expect((dialog.element as HTMLDialogElement).open).toBe(false);
    w.unmount();
  });

  it('shows members with addresses, connects a container and disconnects one', async () => {
    const w = await mountView();
    buttonIn(document, 'Show appnet').click();
    await flushPromises();
    const detail = w.find('section[aria-label="Network appnet"]');
    expect(detail.find('table').text()).toContain('10.5.0.2');
    expect(detail.find('table').text()).toContain('web');
    const select = detail.find('select#connect-container');
    expect(detail.find('label[for="connect-container"]').text()).toBe('Container to connect');
    // Only containers not on the network yet.
    expect(select.findAll('option').map((o) => o.text())).toEqual(['Pick a container', 'db (running)']);
    await select.setValue('c2');
    await detail.find('form').trigger('submit');
    await flushPromises();
    expect(fake.callsTo('networks:connect')).toEqual([{ network: network('appnet').id, container: 'c2' }]);

    buttonIn(document, 'Disconnect web').click();
    await flushPromises();
    expect(fake.callsTo('networks:disconnect')).toEqual([{ network: network('appnet').id, container: 'c1' }]);

    buttonIn(detail.element, 'Inspect').click();
    await flushPromises();
    expect(w.find('pre[aria-label="Network inspect"]').text()).toContain('"Name": "appnet"');
    w.unmount();
  });

  it('removes after the confirm, and shows the refusal as a message', async () => {
    fake.fail('networks:remove', 'network appnet has active endpoints', 409);
    const w = await mountView();
    buttonIn(document, 'Remove appnet').click();
    await flushPromises();
    const confirm = document.querySelector('dialog[aria-label="Remove network appnet?"]') as HTMLDialogElement;
    expect(confirm.open).toBe(true);
    expect(confirm.textContent).toContain('web is still connected');
    buttonIn(confirm, 'Remove').click();
    await flushPromises();
    expect(fake.callsTo('networks:remove')).toEqual([{ id: network('appnet').id }]);
    const { useNotices } = await import('../../renderer/src/stores/notices.js');
    expect(useNotices().items.map((n) => n.message)).toContain('network appnet has active endpoints');
    w.unmount();
  });
});

describe('networkFormProblems', () => {
  it('accepts a plain name, and a subnet with a gateway inside it', () => {
    expect(networkFormProblems({ name: 'a', subnet: '', gateway: '' })).toEqual({});
    expect(networkFormProblems({ name: 'front.end_1', subnet: '192.168.50.0/24', gateway: '192.168.50.254' })).toEqual({});
    expect(networkFormProblems({ name: 'x', subnet: '10.0.0.0/8', gateway: '11.0.0.1' }).gateway).toMatch(/inside the subnet/);
    expect(networkFormProblems({ name: 'x', subnet: '', gateway: '10.0.0.1' }).gateway).toMatch(/needs a subnet/);
    expect(networkFormProblems({ name: 'x', subnet: '10.0.0.0/31', gateway: '' }).subnet).toMatch(/IPv4 CIDR/);
  });
});
