import type { DiskUsage, EngineInfo, PruneResult, PruneTarget } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { useBridge } from '../bridge/index.js';
import { coalesce, useConnection } from './connection.js';

/**
 * The engine's info (versions, host, counts) and disk usage for the dashboard, refreshed on
 * engine events (never polled); prune runs here and refreshes both.
 */
export const useSystem = defineStore('system', () => {
  const info = ref<EngineInfo | undefined>();
  const df = ref<DiskUsage | undefined>();
  const error = ref<string | undefined>();
  let started = false;

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

  function start(): void {
    if (started) return;
    started = true;
    const connection = useConnection();
    if (connection.engine !== undefined) info.value = connection.engine;
    connection.onEngineEvent((e) => {
      if (e.type === 'container' || e.type === 'image') reloadInfo();
      if (e.type !== 'daemon') reloadDf();
    });
    connection.onConnected(() => {
      reloadInfo();
      reloadDf();
    });
    if (connection.connected) {
      void loadInfo();
      void loadDf();
    }
  }

  async function prune(targets: readonly PruneTarget[], allImages = false): Promise<PruneResult> {
    const result = await useBridge().invoke('system:prune', { targets, allImages });
    await Promise.all([loadDf(), loadInfo()]);
    return result;
  }

  return { info, df, error, start, loadInfo, loadDf, prune };
});
