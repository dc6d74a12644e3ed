import type { ContainerDetail, StatsSample } from '@shared/bridge.js';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMemoryHistory, createRouter, RouterView } from 'vue-router';
import { setBridge } from '../../renderer/src/bridge/index.js';
import ContainerDetailView from '../../renderer/src/views/ContainerDetailView.vue';
import { FakeBridge } from './fake-bridge.js';

const ID = `c0ffee${'1'.repeat(58)}`;
const DETAIL: ContainerDetail = {
  id: ID,
  name: 'web',
  image: 'nginx:latest',
  imageId: 'sha256:1',
  command: 'nginx',
  state: 'running',
  status: 'running',
  createdAt: '2026-01-01T00:00:00Z',
  ports: [{ containerPort: 80, protocol: 'tcp', hostPort: 8080 }],
  labels: {},
  networks: ['bridge'],
  mounts: [],
  tty: false,
  memoryLimitBytes: 0,
  restartPolicy: 'no',
  inspect: { Id: ID, State: { Status: 'running', Pid: 42 }, Config: { Env: ['A=1'] } },
};

function fakeBridge(): FakeBridge {
  return new FakeBridge()
    .respond('containers:inspect', () => DETAIL)
    .respond('logs:open', () => [
      { stream: 'stdout', time: '2026-01-01T10:00:00.123456789Z', text: 'server started' },
      { stream: 'stderr', time: '2026-01-01T10:00:01.5Z', text: 'warning: low disk' },
    ])
    .respond('subscription:close', () => undefined)
    .respond('stats:watch', () => undefined)
    .respond('terminal:open', () => ({ shell: '/bin/bash' }))
    .respond('terminal:attach', () => ({ scrollback: 'earlier output\r\n', exited: false }))
    .respond('terminal:resize', () => undefined)
    .respond('terminal:input', () => undefined)
    .respond('logs:downloadUrl', () => ({ url: 'http://127.0.0.1:1/download/x?token=t' }));
}

async function mountAt(fake: FakeBridge, path: string) {
  setBridge(fake);
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/containers/:id/:tab?', component: ContainerDetailView, props: true },
      { path: '/:p(.*)*', component: { template: '<div />' } },
    ],
  });
  await router.push(path);
  const App = defineComponent({ render: () => h(RouterView) });
  // Chart.js cannot lay out in happy-dom; the stub keeps LineChart's contract (figure, title, points).
  const wrapper = mount(App, { global: { plugins: [router], stubs: { LineChart: ChartStub } }, attachTo: document.body });
  await flushPromises();
  return { wrapper, router };
}

const ChartStub = defineComponent({
  props: { title: { type: String, required: true }, series: { type: Array, required: true }, labels: Array, max: Number, format: Function },
  setup: (props) => () => h('figure', { 'aria-label': props.title, 'data-points': (props.series[0] as { values: number[] } | undefined)?.values.length ?? 0, 'data-max': props.max }),
});

function sample(i: number): StatsSample {
  return { id: ID, name: 'web', cpuPercent: 10 + i, memoryUsage: 1000 * i, memoryLimit: 1 << 30, pids: 3, netRx: 100 * i, netTx: 50 * i, blkioRead: 0, blkioWrite: 10 * i };
}

describe('ContainerDetailView', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    document.body.innerHTML = '';
  });

  it('shows the header and tabs; arrow keys move between tabs', async () => {
    const { wrapper, router } = await mountAt(fakeBridge(), `/containers/${ID}`);
    expect(wrapper.find('h1').text()).toBe('web');
    const tabs = wrapper.findAll('[role="tab"]');
    expect(tabs.map((t) => t.text())).toEqual(['Logs', 'Inspect', 'Terminal', 'Stats', 'Files']);
    expect(tabs[0]?.attributes('aria-selected')).toBe('true');
    expect(wrapper.find('[aria-label="Stop web"]').exists()).toBe(true);
    await tabs[0]?.trigger('keydown', { key: 'ArrowRight' });
    await flushPromises();
    expect(router.currentRoute.value.path).toBe(`/containers/${ID}/inspect`);
    expect(wrapper.find('[role="tab"][aria-selected="true"]').text()).toBe('Inspect');
    expect(wrapper.find('details summary').text()).toContain('{3}');
    expect(wrapper.text()).toContain('"running"');
    await wrapper.find('[role="tab"][aria-selected="true"]').trigger('keydown', { key: 'ArrowLeft' });
    await flushPromises();
    expect(router.currentRoute.value.path).toBe(`/containers/${ID}/logs`);
    wrapper.unmount();
  });

  it('Logs: tail, follow pushes, search, timestamps; closes the follow when leaving', async () => {
    const fake = fakeBridge();
    const { wrapper } = await mountAt(fake, `/containers/${ID}/logs`);
    const open = fake.callsTo('logs:open')[0] as { id: string; tail: number; subscription: string };
    expect(open).toMatchObject({ id: ID, tail: 1000 });
    expect(open.subscription).toMatch(/^logs-/);
    const lines = () => wrapper.findAll('.log-lines .line').map((l) => l.text());
    expect(lines()).toEqual(['server started', 'warning: low disk']);
    expect(wrapper.find('.line.stderr').text()).toBe('warning: low disk');
    fake.emit('logs:lines', { subscription: open.subscription, lines: [{ stream: 'stdout', time: '2026-01-01T10:00:02Z', text: 'GET /index.html 200' }] });
    fake.emit('logs:lines', { subscription: 'someone-else', lines: [{ stream: 'stdout', time: '', text: 'not mine' }] });
    await flushPromises();
    expect(lines()).toEqual(['server started', 'warning: low disk', 'GET /index.html 200']);
    await wrapper.find('input[aria-label="Search logs"]').setValue('get');
    expect(lines()).toEqual(['GET /index.html 200']);
    await wrapper.find('input[aria-label="Search logs"]').setValue('');
    const stamps = wrapper.findAll('label').find((l) => l.text() === 'Timestamps');
    await stamps?.find('input').setValue(true);
    expect(lines()[0]).toBe('2026-01-01 10:00:00.123server started');
    fake.emit('logs:lines', { subscription: open.subscription, lines: [{ stream: 'stdout', time: '', text: '\u001b[32mcoloured\u001b[0m text' }] });
    await flushPromises();
    expect(lines().at(-1)).toBe('coloured text');

    const follow = wrapper.findAll('label').find((l) => l.text() === 'Follow');
    await follow?.find('input').setValue(false);
    await flushPromises();
    expect(fake.callsTo('subscription:close')).toEqual([{ subscription: open.subscription }]);
    expect(fake.callsTo('logs:open').at(-1)).toEqual({ id: ID, tail: 1000 });
    wrapper.unmount();
  });

  it('Stats: charts of the watched container with 60-point history, interval select re-watches', async () => {
    const fake = fakeBridge();
    const { wrapper } = await mountAt(fake, `/containers/${ID}/stats`);
    const watch = fake.callsTo('stats:watch')[0] as { subscription: string; ids: string[]; intervalMs: number };
    expect(watch).toMatchObject({ ids: [ID], intervalMs: 1000 });
    for (let i = 1; i <= 65; i++) fake.emit('stats:samples', { subscription: watch.subscription, time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), samples: [sample(i)] });
    await flushPromises();
    const charts = wrapper.findAll('figure');
    expect(charts.map((c) => [c.attributes('aria-label'), c.attributes('data-points')])).toEqual([
      ['CPU', '60'],
      ['Memory', '60'],
      ['Network I/O', '60'],
      ['Block I/O', '60'],
    ]);
    // Memory is drawn against its limit.
    expect(charts[1]?.attributes('data-max')).toBe(String(1 << 30));
    await wrapper.find('select[aria-label="Interval"]').setValue('5000');
    await flushPromises();
    expect(fake.callsTo('subscription:close')).toEqual([{ subscription: watch.subscription }]);
    expect(fake.callsTo('stats:watch').at(-1)).toMatchObject({ ids: [ID], intervalMs: 5000 });
    wrapper.unmount();
    expect(fake.callsTo('subscription:close')).toHaveLength(2);
  });

  it('Terminal: opens one session, re-attaches after a tab switch instead of opening another', async () => {
    const fake = fakeBridge();
    const { wrapper, router } = await mountAt(fake, `/containers/${ID}/terminal`);
    await flushPromises();
    expect(wrapper.find('[aria-label="Terminal"]').exists()).toBe(true);
    const opened = fake.callsTo('terminal:open') as { session: string; containerId: string; cols: number; rows: number }[];
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ containerId: ID });
    expect(opened[0]?.cols).toBeGreaterThan(0);
    const session = opened[0]?.session ?? '';

    await router.replace(`/containers/${ID}/stats`);
    await flushPromises();
    expect(wrapper.find('[aria-label="Terminal"]').exists()).toBe(false);
    await router.replace(`/containers/${ID}/terminal`);
    await flushPromises();
    expect(fake.callsTo('terminal:open')).toHaveLength(1);
    expect(fake.callsTo('terminal:attach')).toEqual([{ session }]);
    expect(fake.callsTo('terminal:close')).toHaveLength(0);

    // Ctrl+Shift+V pastes the clipboard into the shell (xterm sends it as input).
    Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { readText: () => Promise.resolve('echo pasted'), writeText: () => Promise.resolve() } });
    const input = wrapper.find('textarea[aria-label="Shell input"]');
    expect(input.exists()).toBe(true);
    await input.trigger('keydown', { key: 'V', code: 'KeyV', ctrlKey: true, shiftKey: true });
    await flushPromises();
    expect(fake.callsTo('terminal:input')).toEqual([{ session, data: expect.stringContaining('echo pasted') as string }]);

    fake.emit('terminal:exit', { session, exitCode: 0 });
    await flushPromises();
    expect(wrapper.text()).toContain('Session ended (exit code 0).');
    fake.respond('terminal:close', () => undefined);
    await wrapper.findAll('button').find((b) => b.text() === 'Open a new session')?.trigger('click');
    await flushPromises();
    expect(fake.callsTo('terminal:close')).toEqual([{ session }]);
    expect(fake.callsTo('terminal:open')).toHaveLength(2);
    wrapper.unmount();
  });

  it('says when the container does not exist', async () => {
    const fake = fakeBridge().fail('containers:inspect', 'No such container: gone', 404);
    const { wrapper } = await mountAt(fake, '/containers/gone');
    expect(wrapper.find('section[aria-label="No such container"]').text()).toMatch(/No such container: gone[\s\S]*Back to the containers/);
    wrapper.unmount();
  });
});
