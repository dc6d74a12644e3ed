import type { DiskUsage, EngineInfo, PruneResult, PruneTarget } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { useBridge } from '../bridge/index.js';
import { coalesce, useConnection } from './connection.js';
import { QUIET_ACTIONS } from './containers.js';

/**
 * The engine's info (versions, host, counts) and disk usage for the dashboard, refreshed on
 * engine events (never polled) while a view follows them — disk usage walks the engine's
 * storage, so nothing asks for it when no one is looking; prune runs here and refreshes both.
 */
export const useSystem = defineStore('system', () => {
  const info = ref<EngineInfo | undefined>();
  const df = ref<DiskUsage | undefined>();
  const error = ref<string | undefined>();
  let followers = 0;
  let listening = false;

  async function loadInfo(): Promise<void> {
    try {
      info.value = await useBridge().invoke('system:info', undefined);
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err);
    }
  }

  async function loadDf(): Promise<void> {
    try {
      df.value = await useBridge().invoke('system:df', undefined);
      error.value = undefined;
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err);
    }
  }

  const reloadInfo = coalesce(loadInfo, 300);
  // Disk usage walks the engine's storage: at most once a second while events stream in.
  const reloadDf = coalesce(loadDf, 1000);

  /** Keeps info and disk usage current until the answered function is called (a view's unmount). */
  function follow(): () => void {
    const connection = useConnection();
    if (!listening) {
      listening = true;
      connection.onEngineEvent((e) => {
        if (followers === 0 || e.type === 'daemon' || (e.type === 'container' && QUIET_ACTIONS.test(e.action))) return;
        if (e.type === 'container' || e.type === 'image') reloadInfo();
        reloadDf();
      });
      connection.onConnected(() => {
        if (followers === 0) return;
        reloadInfo();
        reloadDf();
      });
    }
    followers++;
    if (connection.engine !== undefined) info.value ??= connection.engine;
    // Events were not followed while no one looked: start from fresh figures.
    if (connection.connected) {
      void loadInfo();
      void loadDf();
    }
    let followed = true;
    return () => {
      if (followed) followers--;
      followed = false;
    };
  }

  async function prune(targets: readonly PruneTarget[], allImages = false): Promise<PruneResult> {
    const result = await useBridge().invoke('system:prune', { targets, allImages });
    await Promise.all([loadDf(), loadInfo()]);
    return result;
  }

  return { info, df, error, follow, loadInfo, loadDf, prune };
});
