import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Settings } from '../../electron/shared/bridge.js';
import { setBridge } from '../../renderer/src/bridge/index.js';
import { targetOf, fieldsOf } from '../../renderer/src/components/settings/connection-form.js';
import { useConnection } from '../../renderer/src/stores/connection.js';
import { useSettings } from '../../renderer/src/stores/settings.js';
import SettingsView from '../../renderer/src/views/SettingsView.vue';
import { FakeBridge } from './fake-bridge.js';

let fake: FakeBridge;
let settings: Settings;
let vmAvailable: boolean;

beforeEach(() => {
  document.body.innerHTML = '';
  setActivePinia(createPinia());
  vmAvailable = false;
  settings = { theme: 'system', connection: { kind: 'local', socketPath: '/tmp/b.sock' }, statsIntervalMs: 1000, vm: null };
  fake = new FakeBridge()
    .respond('connection:status', () => ({ target: settings.connection, state: 'connected' }))
    .respond('app:info', () => ({ version: '0', mode: 'browser', platform: 'linux', vmAvailable }))
    .respond('settings:get', () => settings)
    .respond('settings:update', (change) => (settings = { ...settings, ...change }))
    .respond('connection:set', (target) => ({ target, state: 'disconnected', error: `No engine socket at ${target.kind === 'ssh' ? '' : target.socketPath}.` }));
  setBridge(fake);
});

async function mountSettings() {
  await useConnection().start();
  await useSettings().start();
  const w = mount(SettingsView, { attachTo: document.body });
  await flushPromises();
  return w;
}

describe('SettingsView', () => {
  it('changes the theme through settings:update', async () => {
    const w = await mountSettings();
    const select = w.get('select#theme');
    expect(w.get('label[for="theme"]').text()).toBe('Theme');
    await select.setValue('dark');
    await flushPromises();
    expect(fake.callsTo('settings:update')).toEqual([{ theme: 'dark' }]);
    expect(useSettings().current?.theme).toBe('dark');
    await w.get('select#stats-interval').setValue('5000');
    await flushPromises();
    expect(fake.callsTo('settings:update')).toContainEqual({ statsIntervalMs: 5000 });
  });

  it('connects to a socket path and shows the outcome', async () => {
    const w = await mountSettings();
    expect((w.get('#local-socket').element as HTMLInputElement).value).toBe('/tmp/b.sock');
    await w.get('input[value="socket"]').setValue(true);
    await w.get('#socket-path').setValue('relative.sock');
    await w.get('form').trigger('submit');
    expect(w.get('[role="alert"]').text()).toMatch(/must be absolute/);
    expect(fake.callsTo('connection:set')).toHaveLength(0);
    await w.get('#socket-path').setValue('/nowhere/docker.sock');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(fake.callsTo('connection:set')).toEqual([{ kind: 'socket', socketPath: '/nowhere/docker.sock' }]);
    expect(w.text()).toContain('Disconnected');
    expect(w.get('[role="alert"]').text()).toContain('/nowhere/docker.sock');
  });

  it('shows VM resources only when a VM is available', async () => {
    const w = await mountSettings();
    expect(w.text()).toContain('once the VM manager arrives');
    expect(w.find('form.vm').exists()).toBe(false);
    w.unmount();
    setActivePinia(createPinia());
    vmAvailable = true;
    const again = await mountSettings();
    expect(again.find('form.vm').exists()).toBe(true);
    await again.get('form.vm').trigger('submit');
    await flushPromises();
    expect(fake.callsTo('settings:update')).toContainEqual({ vm: { cpus: 2, memoryMiB: 4096, diskGiB: 64 } });
  });
});

describe('connection form', () => {
  it('builds SSH targets and says what is missing', () => {
    const f = fieldsOf({ kind: 'ssh', host: 'h', username: 'u', port: 2222 });
    expect(targetOf(f)).toEqual({ ok: true, target: { kind: 'ssh', host: 'h', username: 'u', port: 2222 } });
    expect(targetOf({ ...f, port: '70000' })).toMatchObject({ ok: false, message: expect.stringMatching(/port/) });
    expect(targetOf({ ...f, username: '' })).toMatchObject({ ok: false, message: expect.stringMatching(/user/) });
    expect(targetOf({ ...f, kind: 'local', localSocket: '' })).toEqual({ ok: true, target: { kind: 'local' } });
  });
});
