import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setBridge } from '../../renderer/src/bridge/index.js';
import LoadImage from '../../renderer/src/components/images/LoadImage.vue';
import { useNotices } from '../../renderer/src/stores/notices.js';
import { FakeBridge } from './fake-bridge.js';

let fake: FakeBridge;

beforeEach(() => {
  document.body.innerHTML = '';
  setActivePinia(createPinia());
  fake = new FakeBridge().respond('images:load', () => ({ loaded: ['berth.test/busybox:latest'] }));
  setBridge(fake);
});

function pick(input: HTMLInputElement, file: File): void {
  Object.defineProperty(input, 'files', { value: [file], configurable: true });
}

describe('LoadImage', () => {
  it('asks for a file first', async () => {
    const w = mount(LoadImage, { attachTo: document.body });
    await w.get('form').trigger('submit');
    expect(w.get('[role="alert"]').text()).toMatch(/Choose an image archive/);
    expect(fake.callsTo('images:load')).toHaveLength(0);
  });

  it('sends the picked file\'s bytes and reports what it held', async () => {
    const w = mount(LoadImage, { attachTo: document.body });
    pick(w.get('input[type="file"]').element as HTMLInputElement, new File([new Uint8Array([1, 2, 3])], 'busybox.tar'));
    await w.get('form').trigger('submit');
    await flushPromises();
    const [args] = fake.callsTo('images:load') as { file: { name: string; bytes: Uint8Array } }[];
    expect(args?.file.name).toBe('busybox.tar');
    expect([...(args?.file.bytes ?? [])]).toEqual([1, 2, 3]);
    expect(useNotices().items.map((n) => n.message)).toContain('Loaded berth.test/busybox:latest');
  });

  it('shows the engine\'s answer for a file that is not an archive', async () => {
    fake.fail('images:load', 'notes.txt is not an image archive. Load a .tar made by `docker save` or an OCI image layout tar.', 400);
    const w = mount(LoadImage, { attachTo: document.body });
    pick(w.get('input[type="file"]').element as HTMLInputElement, new File(['hello'], 'notes.txt'));
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(w.get('[role="alert"]').text()).toContain('notes.txt is not an image archive');
  });
});
