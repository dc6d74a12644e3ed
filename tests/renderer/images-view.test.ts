import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ImageSummary } from '../../electron/shared/bridge.js';
import { setBridge } from '../../renderer/src/bridge/index.js';
import PullForm from '../../renderer/src/components/images/PullForm.vue';
import { useConnection } from '../../renderer/src/stores/connection.js';
import ImagesView from '../../renderer/src/views/ImagesView.vue';
import { FakeBridge } from './fake-bridge.js';

let fake: FakeBridge;
let finishPull: ((value: { id: string }) => void) | undefined;

const image = (tags: string[], usedBy: string[] = []): ImageSummary => ({
  id: `sha256:${'ab'.repeat(32)}`,
  tags,
  digests: [],
  sizeBytes: 2_500_000,
  createdAt: new Date(Date.now() - 7200_000).toISOString(),
  usedBy,
});

function button(root: ParentNode, name: string): HTMLButtonElement {
  const b = [...root.querySelectorAll('button')].find((e) => e.getAttribute('aria-label') === name || e.textContent?.trim() === name);
  if (b === undefined) throw new Error(`no button ${name}`);
  return b;
}

async function mountPull(): Promise<VueWrapper> {
  const w = mount(PullForm, { attachTo: document.body });
  await flushPromises();
  return w;
}

beforeEach(() => {
  document.body.innerHTML = '';
  setActivePinia(createPinia());
  finishPull = undefined;
  fake = new FakeBridge()
    .respond('connection:status', () => ({ target: { kind: 'local' }, state: 'connected' }))
    .respond('app:info', () => ({ version: '0', mode: 'browser', platform: 'linux', vmAvailable: false }))
    .respond('images:list', () => [image(['berth.test/busybox:latest'], ['web1'])])
    .respond('images:pull', () => new Promise((resolve) => (finishPull = resolve)))
    .respond('operation:cancel', () => undefined);
  setBridge(fake);
});

describe('PullForm', () => {
  it('shows one progress bar per layer from operation:progress pushes, inside "Pull progress"', async () => {
    const w = await mountPull();
    await w.get('input#pull-reference').setValue('127.0.0.1:5000/team/app:1');
    await w.get('form').trigger('submit');
    await flushPromises();
    const [args] = fake.callsTo('images:pull') as { reference: string; operation: string }[];
    expect(args?.reference).toBe('127.0.0.1:5000/team/app:1');
    fake.emit('operation:progress', {
      operation: args?.operation ?? '',
      kind: 'pull',
      layers: [
        { id: 'aaa', status: 'Downloading', current: 250, total: 1000 },
        { id: 'bbb', status: 'Pulling fs layer' },
      ],
    });
    await flushPromises();
    const region = document.querySelector('[aria-label="Pull progress"]');
    expect(region).not.toBeNull();
    const bars = [...(region?.querySelectorAll('[role="progressbar"]') ?? [])];
    expect(bars).toHaveLength(2);
    expect(bars[0]?.getAttribute('aria-valuenow')).toBe('250');
    expect(bars[0]?.getAttribute('aria-valuemax')).toBe('1000');
    expect(bars[0]?.getAttribute('aria-label')).toBe('Layer aaa');
    // Another picture replaces the first.
    fake.emit('operation:progress', { operation: args?.operation ?? '', kind: 'pull', layers: [{ id: 'aaa', status: 'Pull complete', current: 1000, total: 1000 }, { id: 'bbb', status: 'Already exists' }] });
    await flushPromises();
    expect(document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')).toBe('1000');
    expect(button(document.querySelector('form.pull-form') as HTMLElement, 'Cancel')).toBeTruthy();
    finishPull?.({ id: 'sha256:1' });
    await flushPromises();
    expect(region?.textContent).toContain('Pulled');
  });

  it('refuses a bad name with an alert and sends nothing', async () => {
    const w = await mountPull();
    await w.get('input#pull-reference').setValue('UPPER/case');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.get('[role="alert"]').text()).toMatch(/must be lowercase/);
    expect(fake.callsTo('images:pull')).toHaveLength(0);
    await w.get('input#pull-reference').setValue('a b');
    await w.get('form').trigger('submit');
    expect(w.get('[role="alert"]').text()).toMatch(/spaces/);
  });

  it('shows the engine\'s refusal as an alert', async () => {
    fake.fail('images:pull', 'Pulling x:nope failed: manifest unknown', 404);
    const w = await mountPull();
    await w.get('input#pull-reference').setValue('x:nope');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.get('[role="alert"]').text()).toContain('manifest unknown');
  });

  it('cancels a pull', async () => {
    const w = await mountPull();
    await w.get('input#pull-reference').setValue('busybox');
    await w.get('form').trigger('submit');
    await flushPromises();
    button(document.querySelector('form.pull-form') as HTMLElement, 'Cancel').click();
    await flushPromises();
    const [pull] = fake.callsTo('images:pull') as { operation: string }[];
    expect(fake.callsTo('operation:cancel')).toEqual([{ operation: pull?.operation }]);
  });
});

describe('ImagesView', () => {
  it('lists images with tags, size and users, and reloads on image events', async () => {
    await useConnection().start();
    const w = mount(ImagesView, { attachTo: document.body });
    await flushPromises();
    const table = w.get('table[aria-label="Images"]');
    expect(table.text()).toContain('berth.test/busybox:latest');
    expect(table.text()).toContain('web1');
    expect(table.text()).toContain('2.50 MB');
    expect(button(document, 'Push berth.test/busybox:latest')).toBeTruthy();
    expect(w.find('label[for="image-archive"]').text()).toBe('Image archive');
    fake.respond('images:list', () => []);
    fake.emit('engine:event', { type: 'image', action: 'delete', id: 'x', time: Date.now(), attributes: {} });
    await new Promise((r) => setTimeout(r, 200));
    await flushPromises();
    expect(w.text()).toContain('No images yet');
  });

  it('asks before removing and shows a conflict as a notice', async () => {
    fake.fail('images:remove', 'Image berth.test/busybox:latest is used by container web1. Remove the container first, or remove the image with force.', 409);
    await useConnection().start();
    mount(ImagesView, { attachTo: document.body });
    await flushPromises();
    button(document, 'Remove berth.test/busybox:latest').click();
    await flushPromises();
    expect(fake.callsTo('images:remove')).toHaveLength(0);
    const dialog = [...document.querySelectorAll('dialog')].find((d) => d.getAttribute('aria-label')?.startsWith('Remove'));
    button(dialog as HTMLElement, 'Remove').click();
    await flushPromises();
    expect(fake.callsTo('images:remove')).toEqual([{ id: 'berth.test/busybox:latest', force: false }]);
  });

  it('inspects an image in a dialog', async () => {
    fake.respond('images:inspect', ({ id }) => ({ Id: id, RepoTags: ['berth.test/busybox:latest'] }));
    await useConnection().start();
    mount(ImagesView, { attachTo: document.body });
    await flushPromises();
    button(document, 'Inspect berth.test/busybox:latest').click();
    await flushPromises();
    const json = document.querySelector('dialog[aria-label="Inspect berth.test/busybox:latest"] pre[aria-label="Image JSON"]');
    expect(json?.textContent).toContain('"RepoTags"');
    expect(fake.callsTo('images:inspect')).toEqual([{ id: `sha256:${'ab'.repeat(32)}` }]);
  });
});
