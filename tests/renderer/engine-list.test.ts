import { flushPromises } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineEvent } from '../../electron/shared/bridge.js';
import { setBridge } from '../../renderer/src/bridge/index.js';
import { useConnection } from '../../renderer/src/stores/connection.js';
import { useEngineList } from '../../renderer/src/stores/engine-list.js';
import { FakeBridge } from './fake-bridge.js';

const volumeEvent = (action: string): EngineEvent => ({ type: 'volume', action, id: 'v', time: Date.now(), attributes: {} });

describe('useEngineList', () => {
  let fake: FakeBridge;
  beforeEach(async () => {
    setActivePinia(createPinia());
    fake = new FakeBridge()
      .respond('connection:status', () => ({ target: { kind: 'local' }, state: 'connected' }))
      .respond('app:info', () => ({ version: '0', mode: 'browser', platform: 'linux', vmAvailable: false }));
    setBridge(fake);
    await useConnection().start();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('reloads on its events while followed; afterwards only marks itself stale for the next follow', async () => {
    let fetches = 0;
    const list = useEngineList(async () => [++fetches], (e) => e.type === 'volume');
    const unfollow = list.follow();
    await flushPromises();
    expect(list.items.value).toEqual([1]);

    fake.emit('engine:event', volumeEvent('create'));
    fake.emit('engine:event', { ...volumeEvent('create'), type: 'image' });
    await vi.advanceTimersByTimeAsync(500);
    expect(fetches).toBe(2); // the volume event, once; not the image one

    unfollow();
    unfollow(); // twice is once
    fake.emit('engine:event', volumeEvent('destroy'));
    await vi.advanceTimersByTimeAsync(500);
    expect(fetches).toBe(2);

    list.follow();
    await flushPromises();
    expect(fetches).toBe(3);
    list.follow(); // a second view: nothing changed since, no load
    await flushPromises();
    expect(fetches).toBe(3);
  });

  it('start() follows for good', async () => {
    let fetches = 0;
    const list = useEngineList(async () => [++fetches], (e) => e.type === 'volume');
    list.start();
    list.start();
    await flushPromises();
    fake.emit('engine:event', volumeEvent('create'));
    await vi.advanceTimersByTimeAsync(500);
    expect(fetches).toBe(2);
  });
});
