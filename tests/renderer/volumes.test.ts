import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { EngineEvent, VolumeSummary } from '../../electron/shared/bridge.js';
import { setBridge } from '../../renderer/src/bridge/index.js';
import { routes } from '../../renderer/src/router.js';
import { useConnection } from '../../renderer/src/stores/connection.js';
import { volumeNameProblem } from '../../renderer/src/stores/volumes.js';
import VolumeBrowseView from '../../renderer/src/views/VolumeBrowseView.vue';
import VolumesView from '../../renderer/src/views/VolumesView.vue';
import { FakeBridge } from './fake-bridge.js';

const volume = (name: string, extra: Partial<VolumeSummary> = {}): VolumeSummary => ({
  name,
  driver: 'local',
  mountpoint: `/var/lib/berth/volumes/${name}/_data`,
  createdAt: new Date(Date.now() - 3600_000).toISOString(),
  labels: {},
  sizeBytes: 1_048_576,
  usedBy: [],
  anonymous: false,
  ...extra,
});

let fake: FakeBridge;
let volumes: VolumeSummary[];

async function mountView(): Promise<VueWrapper> {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push('/volumes');
  await useConnection().start();
  const w = mount(VolumesView, { global: { plugins: [router] }, attachTo: document.body });
  await flushPromises();
  return w;
}

function clickButton(root: ParentNode, text: string): void {
  const b = [...root.querySelectorAll('button')].find((e) => e.textContent?.trim() === text || e.getAttribute('aria-label') === text);
  if (b === undefined) throw new Error(`no button ${text}`);
  b.click();
}

const event = (type: EngineEvent['type'], action: string): EngineEvent => ({ type, action, id: 'x', time: Date.now(), attributes: {} });

beforeEach(() => {
  document.body.innerHTML = '';
  setActivePinia(createPinia());
  volumes = [volume('data', { usedBy: ['web'], labels: { team: 'a' } }), volume('a'.repeat(64), { anonymous: true, sizeBytes: null })];
  fake = new FakeBridge()
    .respond('connection:status', () => ({ target: { kind: 'local' }, state: 'connected' }))
    .respond('app:info', () => ({ version: '0', mode: 'browser', platform: 'linux', vmAvailable: false }))
    .respond('volumes:list', () => volumes)
    .respond('volumes:create', ({ name }) => {
      const v = volume(name ?? 'x');
      volumes = [...volumes, v];
      return v;
    })
    .respond('volumes:remove', () => undefined)
    .respond('system:prune', () => ({ deleted: 1, reclaimedBytes: 2048 }));
  setBridge(fake);
});

describe('VolumesView', () => {
  it('lists volumes with size, users and a Browse link', async () => {
    const w = await mountView();
    const table = w.find('table[aria-label="Volumes"]');
    const rows = table.findAll('tbody tr');
    expect(rows).toHaveLength(2);
    expect(rows[0]?.text()).toContain('1.05 MB');
    expect(rows[0]?.text()).toContain('web');
    expect(rows[1]?.text()).toContain('anonymous');
    expect(rows[1]?.text()).toContain('unused');
    const link = table.find('a[aria-label="Browse data"]');
    expect(link.attributes('href')).toContain('/volumes/data/browse');
    w.unmount();
  });

  it('the Create dialog validates the name before it sends', async () => {
    const w = await mountView();
    clickButton(document, 'Create volume');
    await flushPromises();
    const dialog = w.find('dialog[aria-label="Create a volume"]');
    expect((dialog.element as HTMLDialogElement).open).toBe(true);
    const name = dialog.find('input#volume-name');
    expect(dialog.find('label[for="volume-name"]').text()).toBe('Name');

    for (const [bad, message] of [
      ['', /Enter a name/],
      ['-x', /starting with a letter or digit/],
      ['a', /at least 2 characters/],
      ['my vol', /a-z, A-Z, 0-9/],
      ['data', /already exists/],
    ] as const) {
      await name.setValue(bad);
      await dialog.find('form').trigger('submit');
      await flushPromises();
      expect(dialog.find('[role="alert"]').text(), bad).toMatch(message);
    }
    expect(fake.callsTo('volumes:create')).toEqual([]);

    await name.setValue('cache');
    await dialog.find('textarea').setValue('team=berth\ntier = db');
    await dialog.find('form').trigger('submit');
    await flushPromises();
    expect(fake.callsTo('volumes:create')).toEqual([{ name: 'cache', labels: { team: 'berth', tier: 'db' } }]);
    expect((dialog.element as HTMLDialogElement).open).toBe(false);
    w.unmount();
  });

  it('shows the engine refusal inside the dialog', async () => {
    fake.fail('volumes:create', 'volume cache already exists with a different driver', 409);
    const w = await mountView();
    clickButton(document, 'Create volume');
    await flushPromises();
    const dialog = w.find('dialog[aria-label="Create a volume"]');
    await dialog.find('input#volume-name').setValue('cache');
    await dialog.find('form').trigger('submit');
    await flushPromises();
    expect(dialog.find('[role="alert"]').text()).toBe('volume cache already exists with a different driver');
    expect((dialog.element as HTMLDialogElement).open).toBe(true);
    w.unmount();
  });

  it('removes only after the confirm, and prunes unused volumes through system:prune', async () => {
    const w = await mountView();
    clickButton(document, 'Remove data');
    await flushPromises();
    expect(fake.callsTo('volumes:remove')).toEqual([]);
    const confirm = document.querySelector('dialog[aria-label="Remove volume data?"]') as HTMLDialogElement;
    expect(confirm.open).toBe(true);
    expect(confirm.textContent).toContain('used by web');
    clickButton(confirm, 'Remove');
    await flushPromises();
    expect(fake.callsTo('volumes:remove')).toEqual([{ name: 'data', force: false }]);

    clickButton(document, 'Prune unused');
    await flushPromises();
    const prune = document.querySelector('dialog[aria-label="Prune unused volumes?"]') as HTMLDialogElement;
    expect(prune.open).toBe(true);
    clickButton(prune, 'Prune');
    await flushPromises();
    expect(fake.callsTo('system:prune')).toEqual([{ targets: ['volumes'] }]);
    w.unmount();
  });

  it('reloads on volume and container events, not on image or exec events', async () => {
    // Earlier tests' coalesced reloads (150 ms) may still be due: let them pass first.
    await new Promise((r) => setTimeout(r, 200));
    const w = await mountView();
    const before = fake.callsTo('volumes:list').length;
    fake.emit('engine:event', event('image', 'pull'));
    fake.emit('engine:event', event('container', 'exec_start: sh'));
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.callsTo('volumes:list').length).toBe(before);
    volumes = [...volumes, volume('fresh')];
    fake.emit('engine:event', event('volume', 'create'));
    fake.emit('engine:event', event('container', 'start'));
    await new Promise((r) => setTimeout(r, 200));
    await flushPromises();
    expect(fake.callsTo('volumes:list').length).toBe(before + 1);
    expect(w.find('table[aria-label="Volumes"]').text()).toContain('fresh');
    w.unmount();
  });

  it('explains what to do when there are no volumes', async () => {
    volumes = [];
    const w = await mountView();
    const empty = w.find('section.empty-state');
    expect(empty.text()).toContain('docker volume create');
    expect(w.find('table[aria-label="Volumes"]').exists()).toBe(false);
    w.unmount();
  });
});

describe('VolumeBrowseView', () => {
  it("shows the volume's heading, facts and its files, read-write", async () => {
    fake.respond('files:list', ({ root, path }) => {
      expect(root).toEqual({ kind: 'volume', name: 'data' });
      return { path, entries: [] };
    });
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/volumes/data/browse');
    await useConnection().start();
    const w = mount(VolumeBrowseView, { props: { name: 'data' }, global: { plugins: [router] }, attachTo: document.body });
    await flushPromises();
    expect(w.find('h1').text()).toBe('Volume data');
    expect(w.text()).toContain('used by web');
    expect(w.find('table[aria-label="Files"]').exists()).toBe(true);
    expect(w.find('input[type="file"][aria-label="Upload file"]').exists()).toBe(true);
    expect(w.text()).toContain('This folder is empty. Upload a file or make a new folder.');
    expect(fake.callsTo('files:list')).toEqual([{ root: { kind: 'volume', name: 'data' }, path: '/' }]);
    w.unmount();
  });
});

describe('volumeNameProblem', () => {
  it('accepts what the local driver accepts', () => {
    expect(volumeNameProblem('db_data-1.2')).toBeUndefined();
    expect(volumeNameProblem('x'.repeat(256))).toMatch(/at most 255/);
  });
});
