import type { InvokeArgs, JsonValue, NetworkSummary } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { useBridge } from '../bridge/index.js';
import { coalesce, useConnection } from './connection.js';

/** Container events that change a network's members or their names (not exec_*, attach…). */
const CONTAINER_CHANGES = new Set(['start', 'die', 'destroy', 'rename', 'restart']);

export type NetworkCreateRequest = InvokeArgs<'networks:create'>;

export { networkFormProblems } from '@shared/network-form.js';

/** Every network with its members, kept current from network and container events. */
export const useNetworks = defineStore('networks', () => {
  const items = ref<NetworkSummary[]>([]);
  const loaded = ref(false);
  const error = ref<string | undefined>();
  let started = false;

  async function load(): Promise<void> {
    try {
      items.value = await useBridge().invoke('networks:list', undefined);
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
      // A container that starts, stops or is removed joins or leaves its networks.
      if (e.type === 'network' || (e.type === 'container' && CONTAINER_CHANGES.has(e.action))) reload();
    });
    connection.onConnected(() => reload());
    if (connection.connected) void load();
  }

  const byId = computed(() => new Map(items.value.map((n) => [n.id, n])));

  async function create(request: NetworkCreateRequest): Promise<NetworkSummary> {
    const created = await useBridge().invoke('networks:create', request);
    reload();
    return created;
  }

  async function remove(id: string): Promise<void> {
    await useBridge().invoke('networks:remove', { id });
    reload();
  }

  async function connect(network: string, container: string): Promise<void> {
    await useBridge().invoke('networks:connect', { network, container });
    reload();
  }

  async function disconnect(network: string, container: string): Promise<void> {
    await useBridge().invoke('networks:disconnect', { network, container });
    reload();
  }

  function inspect(id: string): Promise<JsonValue> {
    return useBridge().invoke('networks:inspect', { id });
  }

  return { items, loaded, error, byId, start, load, create, remove, connect, disconnect, inspect };
});
