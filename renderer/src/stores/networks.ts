import type { InvokeArgs, JsonValue, NetworkSummary } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { useBridge } from '../bridge/index.js';
import { coalesce, useConnection } from './connection.js';

/** Container events that change a network's members or their names (not exec_*, attach…). */
const CONTAINER_CHANGES = new Set(['start', 'die', 'destroy', 'rename', 'restart']);

export type NetworkCreateRequest = InvokeArgs<'networks:create'>;

function ipv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** What is wrong with a Create network form, field by field (empty when nothing). */
export function networkFormProblems(form: { name: string; subnet: string; gateway: string }, existing: readonly string[] = []): Partial<Record<'name' | 'subnet' | 'gateway', string>> {
  const problems: Partial<Record<'name' | 'subnet' | 'gateway', string>> = {};
  const name = form.name.trim();
  if (name === '') problems.name = 'Enter a name for the network.';
  else if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) problems.name = 'Use a-z, A-Z, 0-9, _ . -, starting with a letter or digit.';
  else if (existing.includes(name)) problems.name = `A network named ${name} already exists.`;
  const subnet = form.subnet.trim();
  let range: { network: number; mask: number } | undefined;
  if (subnet !== '') {
    const m = /^([^/]+)\/(\d{1,2})$/.exec(subnet);
    const network = m === null ? undefined : ipv4(m[1] ?? '');
    const prefix = Number(m?.[2]);
    if (network === undefined || !(prefix >= 1 && prefix <= 30)) problems.subnet = 'Write the subnet as an IPv4 CIDR, like 10.5.0.0/24.';
    else {
      const mask = (0xffffffff << (32 - prefix)) >>> 0;
      if ((network & ~mask) >>> 0 !== 0) problems.subnet = 'The subnet has host bits set: end it with the network address (like 10.5.0.0/24).';
      else range = { network, mask };
    }
  }
  const gateway = form.gateway.trim();
  if (gateway !== '') {
    const address = ipv4(gateway);
    if (address === undefined) problems.gateway = 'Write the gateway as an IPv4 address, like 10.5.0.1.';
    else if (subnet === '') problems.gateway = 'A gateway needs a subnet.';
    else if (range !== undefined && (address & range.mask) >>> 0 !== range.network) problems.gateway = 'The gateway must be inside the subnet.';
  }
  return problems;
}

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
