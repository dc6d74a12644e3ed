import type { ContainerAction, RunRequest } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { computed } from 'vue';
import { useBridge } from '../bridge/index.js';
import { useEngineList } from './engine-list.js';

/** Container events that change nothing the list shows (a terminal, `docker cp`, a resize). */
export const QUIET_ACTIONS = /^(exec_|attach$|resize$|top$|archive-path$|extract-to-dir$|export$|commit$)/;

/** Every container, kept current from engine events (never polled). */
export const useContainers = defineStore('containers', () => {
  const { items, loaded, error, load, start } = useEngineList(() => useBridge().invoke('containers:list', undefined), (e) => e.type === 'container' && !QUIET_ACTIONS.test(e.action));

  const byId = computed(() => new Map(items.value.map((c) => [c.id, c])));
  const counts = computed(() => {
    const n = { total: 0, running: 0, paused: 0, stopped: 0 };
    for (const c of items.value) {
      n.total++;
      if (c.state === 'running' || c.state === 'restarting') n.running++;
      else if (c.state === 'paused') n.paused++;
      else n.stopped++;
    }
    return n;
  });

  /** Runs an action on several containers; answers the failures (the list updates from events). */
  async function act(ids: readonly string[], action: ContainerAction) {
    return useBridge().invoke('containers:action', { ids, action });
  }

  async function run(request: RunRequest): Promise<string> {
    const { id } = await useBridge().invoke('containers:run', request);
    return id;
  }

  return { items, loaded, error, byId, counts, start, load, act, run };
});
