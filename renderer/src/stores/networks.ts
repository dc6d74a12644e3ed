import type { InvokeArgs, JsonValue, NetworkSummary } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { computed } from 'vue';
import { useBridge } from '../bridge/index.js';
import { useEngineList } from './engine-list.js';

/** Container events that change a network's members or their names (not exec_*, attach…). */
const CONTAINER_CHANGES = new Set(['start', 'die', 'destroy', 'rename', 'restart']);

export type NetworkCreateRequest = InvokeArgs<'networks:create'>;

export { networkFormProblems } from '@shared/network-form.js';

/** Every network with its members, kept current from network and container events. */
export const useNetworks = defineStore('networks', () => {
  const { items, loaded, error, load, reload, start } = useEngineList(() => useBridge().invoke('networks:list', undefined), (e) => e.type === 'network' || (e.type === 'container' && CONTAINER_CHANGES.has(e.action)));

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
