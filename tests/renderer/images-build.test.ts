import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setBridge } from '../../renderer/src/bridge/index.js';
import BuildDialog from '../../renderer/src/components/images/BuildDialog.vue';
import { parseBuildFields } from '../../renderer/src/components/images/build-form.js';
import { FakeBridge } from './fake-bridge.js';

let fake: FakeBridge;
let finish: ((v: { id: string }) => void) | undefined;

beforeEach(() => {
  document.body.innerHTML = '';
  setActivePinia(createPinia());
  fake = new FakeBridge().respond('images:build', () => new Promise((resolve) => (finish = resolve)));
  setBridge(fake);
});

describe('parseBuildFields', () => {
  it('checks the folder, tags and build args', () => {
    expect(parseBuildFields({ folder: 'app', dockerfile: '', tags: '', buildArgs: '' })).toMatchObject({ ok: false, errors: { folder: expect.stringMatching(/absolute path/) } });
    expect(parseBuildFields({ folder: '/a', dockerfile: '', tags: 'Bad:1', buildArgs: '1X=2' })).toMatchObject({
      ok: false,
      errors: { tags: expect.stringMatching(/lowercase/), buildArgs: expect.stringMatching(/Line 1/) },
    });
    expect(parseBuildFields({ folder: 'C:\\src\\app', dockerfile: 'Dockerfile.dev', tags: 'app:1, app', buildArgs: 'A=1\nB=x=y\n' })).toEqual({
      ok: true,
      value: { contextPath: 'C:\\src\\app', dockerfile: 'Dockerfile.dev', tags: ['app:1', 'app:latest'], buildArgs: { A: '1', B: 'x=y' } },
    });
  });
});

describe('BuildDialog', () => {
  it('sends the build and streams its lines into the log', async () => {
    const w = mount(BuildDialog, { props: { open: true }, attachTo: document.body });
    await flushPromises();
    await w.get('#build-folder').setValue('/home/me/app');
    await w.get('#build-tags').setValue('app:1');
    await w.get('#build-args').setValue('VERSION=2');
    await w.get('input[type="checkbox"]').setValue(true);
    await w.get('form').trigger('submit');
    await flushPromises();
    const [args] = fake.callsTo('images:build') as { operation: string }[];
    expect(args).toMatchObject({ contextPath: '/home/me/app', dockerfile: 'Dockerfile', tags: ['app:1'], buildArgs: { VERSION: '2' }, noCache: true });
    fake.emit('operation:progress', { operation: args?.operation ?? '', kind: 'build', line: 'Step 1/2 : FROM busybox' });
    fake.emit('operation:progress', { operation: args?.operation ?? '', kind: 'build', line: ' ---> abc' });
    await flushPromises();
    expect(w.get('pre[aria-label="Build log"]').text()).toBe('Step 1/2 : FROM busybox\n ---> abc');
    finish?.({ id: 'sha256:1234567890abcdef' });
    await flushPromises();
    expect(w.get('[role="status"]').text()).toBe('Build finished.');
  });

  it('shows what to fix before sending', async () => {
    const w = mount(BuildDialog, { props: { open: true }, attachTo: document.body });
    await w.get('#build-folder').setValue('relative/dir');
    await w.get('form').trigger('submit');
    expect(w.get('[role="alert"]').text()).toMatch(/absolute path/);
    expect(fake.callsTo('images:build')).toHaveLength(0);
  });
});
