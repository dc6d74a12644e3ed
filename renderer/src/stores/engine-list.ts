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
  /** Follows the engine for good (idempotent): reloads on the events `changes` picks and on reconnects. */
  start(): void;
  /**
   * Follows the engine until the answered function is called (a view's unmount): for lists
   * that cost the engine work to make. Events while no one follows only mark the list stale;
   * the next follow loads it.
   */
  follow(): () => void;
}

/**
 * A list of engine objects kept current from engine events, never polled: the part the
 * containers, images, volumes and networks stores share. Used inside a setup store.
 */
export function useEngineList<T>(fetch: () => Promise<T[]>, changes: (event: EngineEvent) => boolean): EngineList<T> {
  const items = ref([]) as Ref<T[]>;
  const loaded = ref(false);
  const error = ref<string | undefined>();
  let listening = false;
  let followers = 0;
  let stale = true;

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

  function listen(): void {
    if (listening) return;
    listening = true;
    const connection = useConnection();
    const changed = () => {
      if (followers > 0) reload();
      else stale = true;
    };
    connection.onEngineEvent((e) => {
      if (changes(e)) changed();
    });
    connection.onConnected(changed);
  }

  function follow(): () => void {
    listen();
    followers++;
    if (stale && useConnection().connected) {
      stale = false;
      void load();
    }
    let following = true;
    return () => {
      if (following) followers--;
      following = false;
    };
  }

  let permanent = false;
  function start(): void {
    if (permanent) return;
    permanent = true;
    follow();
  }

  return { items, loaded, error, load, reload, start, follow };
}
