import type { DiskUsage, DiskUsagePart, PruneResult, PruneTarget } from '../../shared/bridge.js';
import { parseConnectionTarget } from '../app/settings-store.js';
import { bool, list, oneOf, record } from '../transport/validate.js';
import type { ServiceContext } from './context.js';

const PRUNE_TARGETS: readonly PruneTarget[] = ['containers', 'images', 'volumes', 'networks', 'build-cache'];

interface RawDf {
  LayersSize?: number;
  Images?: { Size?: number; SharedSize?: number; Containers?: number }[] | null;
  Containers?: { SizeRw?: number; State?: string }[] | null;
  Volumes?: { UsageData?: { Size?: number; RefCount?: number } }[] | null;
  BuildCache?: { Size?: number; InUse?: boolean; Shared?: boolean }[] | null;
}

export function toDiskUsage(raw: RawDf): DiskUsage {
  const images = raw.Images ?? [];
  const containers = raw.Containers ?? [];
  const volumes = raw.Volumes ?? [];
  const cache = raw.BuildCache ?? [];
  const part = (count: number, active: number, size: number, reclaimable: number): DiskUsagePart => ({
    count,
    active,
    sizeBytes: Math.max(0, size),
    reclaimableBytes: Math.max(0, reclaimable),
  });
  const imageSize = raw.LayersSize ?? images.reduce((n, i) => n + (i.Size ?? 0), 0);
  const activeImages = images.filter((i) => (i.Containers ?? 0) > 0);
  const activeImageSize = activeImages.reduce((n, i) => n + (i.Size ?? 0) - (i.SharedSize ?? 0), 0);
  const containerSize = containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const runningSize = containers.filter((c) => c.State === 'running' || c.State === 'paused').reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const volumeSize = volumes.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const usedVolumes = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0);
  const usedVolumeSize = usedVolumes.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const cacheSize = cache.reduce((n, c) => n + (c.Size ?? 0), 0);
  const cacheInUse = cache.filter((c) => c.InUse === true);
  return {
    images: part(images.length, activeImages.length, imageSize, imageSize - activeImageSize),
    containers: part(containers.length, containers.filter((c) => c.State === 'running' || c.State === 'paused').length, containerSize, containerSize - runningSize),
    volumes: part(volumes.length, usedVolumes.length, volumeSize, volumeSize - usedVolumeSize),
    buildCache: part(cache.length, cacheInUse.length, cacheSize, cacheSize - cacheInUse.reduce((n, c) => n + (c.Size ?? 0), 0)),
  };
}

interface PruneReply {
  SpaceReclaimed?: number;
  ContainersDeleted?: string[] | null;
  ImagesDeleted?: unknown[] | null;
  VolumesDeleted?: string[] | null;
  NetworksDeleted?: string[] | null;
  CachesDeleted?: string[] | null;
}

/** app:info, connection:*, settings:*, system:*. */
export function registerSystem(ctx: ServiceContext): void {
  const { registry, engine, settings } = ctx;

  registry.handle('app:info', () => ctx.appInfo);
  registry.handle('connection:status', () => engine.status);
  registry.handle('connection:set', async (args) => {
    const target = parseConnectionTarget(args);
    await settings.update({ connection: target });
    return engine.connect(target);
  });
  registry.handle('settings:get', () => settings.current);
  registry.handle('settings:update', async (args) => {
    const change = record(args, 'settings');
    if ('connection' in change) throw new Error('change the connection with connection:set');
    return settings.update(change);
  });

  registry.handle('system:info', () => engine.refreshInfo());
  registry.handle('system:df', async () => toDiskUsage((await engine.docker.df()) as RawDf));
  registry.handle('system:prune', async (args) => {
    const a = record(args, 'prune');
    const targets = list(a['targets'], 'targets', 5).map((t) => oneOf(t, 'target', PRUNE_TARGETS));
    const allImages = bool(a['allImages'], 'allImages', false);
    const docker = engine.docker;
    const result: { deleted: number; reclaimedBytes: number } = { deleted: 0, reclaimedBytes: 0 };
    const add = (reply: PruneReply, deleted: readonly unknown[] | null | undefined) => {
      result.deleted += deleted?.length ?? 0;
      result.reclaimedBytes += reply.SpaceReclaimed ?? 0;
    };
    // Containers first: what they held (images, volumes, networks) becomes unused.
    if (targets.includes('containers')) {
      const r = (await docker.pruneContainers()) as PruneReply;
      add(r, r.ContainersDeleted);
    }
    if (targets.includes('networks')) {
      const r = (await docker.pruneNetworks()) as PruneReply;
      add(r, r.NetworksDeleted);
    }
    if (targets.includes('volumes')) {
      // API ≥ 1.42 prunes only anonymous volumes unless all=true; the app's button means all unused.
      const r = (await docker.pruneVolumes({ filters: { all: ['true'] } })) as PruneReply;
      add(r, r.VolumesDeleted);
    }
    if (targets.includes('images')) {
      const r = (await docker.pruneImages(allImages ? { filters: { dangling: ['false'] } } : {})) as PruneReply;
      add(r, r.ImagesDeleted);
    }
    if (targets.includes('build-cache')) {
      const r = (await docker.pruneBuilder()) as PruneReply;
      add(r, r.CachesDeleted);
    }
    return result satisfies PruneResult;
  });
}
