import type { StatsInterval } from '../../shared/bridge.js';
import { BerthStatsFeed } from '../engine/berth-stats.js';
import { DockerStatsStreams, watchDockerStats, type SamplesListener } from '../engine/docker-stats.js';
import type { Client } from '../transport/registry.js';
import { clientId, list, oneOf, record, text } from '../transport/validate.js';
import type { ServiceContext } from './context.js';
import { subscriptionsOf } from './subscriptions.js';

const INTERVALS: readonly StatsInterval[] = [1000, 2000, 5000];

type Emit = SamplesListener;

/**
 * stats:watch — samples of the containers a view shows, every `intervalMs`, as `stats:samples`
 * for that subscription (ended by subscription:close or the client going away).
 *
 * On berthd: one /berth/stats stream per interval for all watchers of every client, each
 * watcher getting only the ids it asked for. On another Docker engine: one
 * /containers/{id}/stats stream per watched container, sampled on the watcher's interval.
 */
export function registerStats(ctx: ServiceContext): void {
  const { registry, engine } = ctx;
  const subs = subscriptionsOf(ctx);
  const feeds = new Map<number, BerthStatsFeed>();
  const dockerStreams = new DockerStatsStreams(() => engine.docker);

  function berthWatch(ids: ReadonlySet<string> | 'all', intervalMs: number, emit: Emit): () => void {
    let feed = feeds.get(intervalMs);
    if (feed === undefined) {
      feed = new BerthStatsFeed(() => engine.docker, intervalMs);
      feeds.set(intervalMs, feed);
    }
    return feed.listen((tick) => {
      emit(tick.time, ids === 'all' ? tick.containers : tick.containers.filter((c) => ids.has(c.id)));
    });
  }

  registry.handle('stats:watch', (args, client: Client) => {
    const a = record(args, 'args');
    const subscription = clientId(a['subscription'], 'subscription');
    const intervalMs = Number(oneOf(String(a['intervalMs']), 'intervalMs', INTERVALS.map(String)));
    const ids: ReadonlySet<string> | 'all' = a['ids'] === 'all' ? 'all' : new Set(list(a['ids'], 'ids', 1000).map((id, i) => text(id, `id ${i + 1}`, { max: 256 })));
    const emit: Emit = (time, samples) => {
      if (!client.closed) client.emit('stats:samples', { subscription, time, samples });
    };
    const docker = engine.docker; // throws the "not connected" message before anything starts
    const stop =
      engine.engine?.isBerth === true
        ? berthWatch(ids, intervalMs, emit)
        : watchDockerStats(dockerStreams, async () => (await docker.listContainers()).map((c) => c.Id), ids, intervalMs, emit);
    subs.add(client, subscription, stop);
  });
}
