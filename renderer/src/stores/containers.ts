import type { ContainerAction, ContainerSummary, RunRequest } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { useBridge } from '../bridge/index.js';
import { coalesce, useConnection } from './connection.js';

/** Every container, kept current from engine events (never polled). */
export const useContainers = defineStore('containers', () => {
  const items = ref<ContainerSummary[]>([]);
  const loaded = ref(false);
  const error = ref<string | undefined>();
  let started = false;

  async function load(): Promise<void> {
    try {
      items.value = await useBridge().invoke('containers:list', undefined);
      error.value = undefined;
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err);
    } finally {
      loaded.value = true;
    }
  }

  const reload = coalesce(load);

  function start(): void {
    if (started) return;
    started = true;
    const connection = useConnection();
    connection.onEngineEvent((e) => {
      if (e.type === 'container') reload();
    });
    connection.onConnected(() => reload());
    if (connection.connected) void load();
  }

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
