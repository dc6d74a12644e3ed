import type { EngineEvent } from '@shared/bridge.js';
import { ref, type Ref } from 'vue';
import { coalesce, useConnection } from './connection.js';

export interface EngineList<T> {
  readonly items: Ref<T[]>;
  /** True once the first load answered (even with an error): views then show data or an empty state. */
  readonly loaded: Ref<boolean>;
  readonly error: Ref<string | undefined>;
  /** Loads now. */
  load(): Promise<void>;
  /** Loads soon, once for a burst of calls. */
  reload(): void;
  /** Starts following the engine (idempotent): reloads on the events `changes` picks and on reconnects. */
  start(): void;
}

/**
 * A list of engine objects kept current from engine events, never polled: the part the
 * containers, images, volumes and networks stores share. Used inside a setup store.
 */
export function useEngineList<T>(fetch: () => Promise<T[]>, changes: (event: EngineEvent) => boolean): EngineList<T> {
  const items = ref([]) as Ref<T[]>;
  const loaded = ref(false);
  const error = ref<string | undefined>();
  let started = false;

  async function load(): Promise<void> {
    try {
      items.value = await fetch();
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
      if (changes(e)) reload();
    });
    connection.onConnected(() => reload());
    if (connection.connected) void load();
  }

  return { items, loaded, error, load, reload, start };
}
