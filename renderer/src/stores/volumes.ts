import type { PruneResult, VolumeSummary } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { computed } from 'vue';
import { useBridge } from '../bridge/index.js';
import { useEngineList } from './engine-list.js';

/** Container events that change who uses a volume or a network (not exec_*, attach, resize…). */
const CONTAINER_CHANGES = new Set(['create', 'start', 'die', 'destroy', 'rename', 'restart']);

/** The local driver's name rule (berthd and Docker): 2+ characters, a letter or digit first. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Why `name` cannot name a new volume, or undefined when it can. */
export function volumeNameProblem(name: string, existing: readonly string[] = []): string | undefined {
  if (name === '') return 'Enter a name for the volume.';
  if (name.length > 255) return 'A volume name can be at most 255 characters.';
  if (!VOLUME_NAME.test(name)) return 'Use at least 2 characters from a-z, A-Z, 0-9, _ . -, starting with a letter or digit.';
  if (existing.includes(name)) return `A volume named ${name} already exists.`;
  return undefined;
}

/**
 * Every volume with its size and users, kept current from engine events: a volume event, and
 * a container event too (a container that mounts or stops mounting a volume changes its
 * "used by", and what it writes changes its size).
 */
export const useVolumes = defineStore('volumes', () => {
  // Followed by the views that show it (follow), not for good: each list sizes every volume.
  const { items, loaded, error, load, reload, follow } = useEngineList(() => useBridge().invoke('volumes:list', undefined), (e) => e.type === 'volume' || (e.type === 'container' && CONTAINER_CHANGES.has(e.action)));

  const byName = computed(() => new Map(items.value.map((v) => [v.name, v])));

  async function create(name: string, labels: Readonly<Record<string, string>> = {}): Promise<VolumeSummary> {
    const created = await useBridge().invoke('volumes:create', { name, labels });
    reload();
    return created;
  }

  async function remove(name: string): Promise<void> {
    await useBridge().invoke('volumes:remove', { name, force: false });
    reload();
  }

  /** Removes every volume no container uses (named ones too, as the Dashboard's button). */
  async function pruneUnused(): Promise<PruneResult> {
    const result = await useBridge().invoke('system:prune', { targets: ['volumes'] });
    reload();
    return result;
  }

  return { items, loaded, error, byName, follow, load, create, remove, pruneUnused };
});
