import type { StatsInterval, StatsSample } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { shallowRef, triggerRef } from 'vue';
import { newId, useBridge } from '../bridge/index.js';

/** Points a chart keeps: 60 samples (a minute at 1 s). */
export const HISTORY_POINTS = 60;

export interface StatsPoint {
  /** Unix ms. */
  readonly t: number;
  readonly sample: StatsSample;
}

/**
 * Live samples from the main process, only for what is on screen: each view `watch`es the
 * containers it shows (or 'all' for the dashboard's totals) and stops when it unmounts. Each
 * container keeps a rolling 60-point history that charts and sparklines read.
 */
export const useStats = defineStore('stats', () => {
  /** id → rolling history (oldest first). Shallow: charts redraw on `version`. */
  const history = shallowRef(new Map<string, StatsPoint[]>());
  /** Aggregate (sum over the containers of a tick) for the `all` watches. */
  const totals = shallowRef<{ t: number; cpuPercent: number; memoryUsage: number; memoryLimit: number }[]>([]);
  const version = shallowRef(0);
  const owners = new Map<string, (samples: readonly StatsSample[], time: string) => void>();
  let listening = false;

  function listen(): void {
    if (listening) return;
    listening = true;
    useBridge().on('stats:samples', ({ subscription, samples, time }) => owners.get(subscription)?.(samples, time));
  }

  function record(samples: readonly StatsSample[], time: string, aggregate: boolean): void {
    const t = Date.parse(time);
    const map = history.value;
    for (const s of samples) {
      const points = map.get(s.id) ?? [];
      if (points.length > 0 && points[points.length - 1]!.t >= t) continue;
      points.push({ t, sample: s });
      if (points.length > HISTORY_POINTS) points.splice(0, points.length - HISTORY_POINTS);
      map.set(s.id, points);
    }
    if (aggregate) {
      const sum = { t, cpuPercent: 0, memoryUsage: 0, memoryLimit: 0 };
      for (const s of samples) {
        sum.cpuPercent += s.cpuPercent;
        sum.memoryUsage += s.memoryUsage;
        sum.memoryLimit = Math.max(sum.memoryLimit, s.memoryLimit);
      }
      const next = [...totals.value, sum];
      if (next.length > HISTORY_POINTS) next.splice(0, next.length - HISTORY_POINTS);
      totals.value = next;
    }
    triggerRef(history);
    version.value++;
  }

  /**
   * Starts samples for `ids` ('all' = every running container, with totals) every
   * `intervalMs`; answers the function that stops them.
   */
  async function watch(ids: readonly string[] | 'all', intervalMs: StatsInterval): Promise<() => void> {
    listen();
    const subscription = newId('stats');
    owners.set(subscription, (samples, time) => record(samples, time, ids === 'all'));
    const bridge = useBridge();
    try {
      await bridge.invoke('stats:watch', { subscription, ids, intervalMs });
    } catch (err) {
      owners.delete(subscription);
      throw err;
    }
    return () => {
      owners.delete(subscription);
      void bridge.invoke('subscription:close', { subscription }).catch(() => undefined);
    };
  }

  function latest(id: string): StatsSample | undefined {
    const points = history.value.get(id);
    return points?.[points.length - 1]?.sample;
  }

  return { history, totals, version, watch, latest, record };
});
