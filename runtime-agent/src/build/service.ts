import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ContainerService } from '../containers/service.js';
import type { Digest } from '../images/digest.js';
import type { ImageService } from '../images/service.js';
import type { ProgressSink } from '../images/progress-types.js';
import type { LayerRecord } from '../images/layer-store.js';
import { log } from '../log.js';
import type { NativeAddon } from '../native/addon-api.js';
import type { DataLayout } from '../store/layout.js';
import { runBuild, BuildStepError, type BuildRequest } from './builder.js';
import { BuildCache, type CacheEntry } from './cache.js';
import { receiveBuildContext } from './files/index.js';
import { BuildOutput } from './output.js';
import type { BuilderDeps } from './step.js';

export interface BuildServiceDeps {
  readonly layout: DataLayout;
  readonly addon: NativeAddon;
  readonly images: ImageService;
  readonly containers: ContainerService;
}

export interface BuildPruneOptions {
  /** `-a`: every cache record and the untagged images they name, not only unreferenced ones. */
  readonly all: boolean;
  /** Only records not used since this time (ms since the epoch). */
  readonly until?: number;
  /** The `label` / `label!` filters over the cached image's labels. */
  readonly labels?: (labels: Readonly<Record<string, string>>) => boolean;
}

export interface BuildPruneReport {
  CachesDeleted: string[];
  SpaceReclaimed: number;
}

/**
 * `POST /build` and `POST /build/prune`. The build cache lives under the data root:
 *
 *   <data-root>/build/cache.json     (cache.ts)
 */
export class BuildService {
  readonly cache: BuildCache;
  private readonly deps: BuilderDeps;

  constructor(private readonly service: BuildServiceDeps) {
    this.cache = new BuildCache(join(service.layout.dataRoot, 'build', 'cache.json'));
    this.deps = {
      layout: service.layout,
      addon: service.addon,
      images: service.images,
      containers: service.containers,
      cache: this.cache,
      files: { addon: service.addon, tmpDir: service.layout.tmpDir },
    };
  }

  init(): Promise<void> {
    return this.cache.init();
  }

  /**
   * Receives the context (the request body), builds, and streams the output to `sink`.
   * Errors before the first message (a bad context, a Dockerfile that does not parse, a bad
   * tag) are thrown for the caller to answer with a status; later ones end the stream
   * in-band. Resolves with the image ID, or undefined after an in-band error.
   */
  async build(body: Readable, req: BuildRequest, quiet: boolean, sink: ProgressSink, signal: AbortSignal): Promise<string | undefined> {
    const context = await receiveBuildContext(body, this.deps.files);
    const out = new BuildOutput(sink, quiet);
    try {
      const id = await runBuild(this.deps, context, req, out, signal);
      out.finished(id);
      return id;
    } catch (err) {
      if (!out.started) throw err;
      const message = err instanceof Error ? err.message : String(err);
      log.info('build.failed', { error: message });
      out.failed(message, err instanceof BuildStepError ? err.exitCode : undefined);
      return undefined;
    } finally {
      await context.dispose();
    }
  }

  /**
   * `docker builder prune`: drops cache records (all with `-a`, else those no tagged image
   * builds on) and deletes the untagged images they named that no container uses and no
   * other image still needs, reporting the image IDs deleted and the bytes of the layers
   * that went with them.
   */
  async prune(opts: BuildPruneOptions): Promise<BuildPruneReport> {
    const store = this.service.images.store;
    const deleted: string[] = [];
    const layers: LayerRecord[] = [];
    const matched = new Set<CacheEntry>();
    await store.exclusive(async () => {
      const kept = opts.all ? new Set<string>() : ancestorsOfTagged(this.service.images);
      const candidates = new Set<string>();
      for (const entry of this.cache.all().values()) {
        if (kept.has(entry.image)) continue;
        if (opts.until !== undefined && Date.parse(entry.lastUsed) > opts.until) continue;
        const labels = store.get(entry.image as Digest)?.config.config?.Labels ?? {};
        if (opts.labels !== undefined && !opts.labels(labels)) continue;
        matched.add(entry);
        candidates.add(entry.image);
      }
      // Leaves first: an image goes only once no remaining image names it as parent.
      let progress = true;
      while (progress) {
        progress = false;
        for (const id of candidates) {
          const image = store.get(id as Digest);
          if (image === undefined) {
            candidates.delete(id);
            continue;
          }
          if (store.refs.referencesOf(image.id).length > 0 || store.users.containersUsing(image.id).length > 0) {
            candidates.delete(id);
            continue;
          }
          if (store.children(image.id).length > 0 && !opts.all) continue;
          layers.push(...(await store.drop(image.id)));
          deleted.push(image.id);
          candidates.delete(id);
          progress = true;
        }
      }
    });
    // -a forgets every matched record (a tagged image stays, but no later build reuses it).
    await this.cache.remove((entry) => (opts.all && matched.has(entry)) || store.get(entry.image as Digest) === undefined);
    const reclaimed = layers.reduce((sum, l) => sum + l.size, 0);
    log.info('build.prune', { deleted: deleted.length, reclaimed });
    return { CachesDeleted: deleted, SpaceReclaimed: reclaimed };
  }
}

/** Every image a tagged image builds on (itself included): its cache must stay. */
function ancestorsOfTagged(images: ImageService): Set<string> {
  const store = images.store;
  const kept = new Set<string>();
  for (const image of store.all()) {
    if (store.refs.referencesOf(image.id).length === 0 && store.users.containersUsing(image.id).length === 0) continue;
    for (let id: Digest | undefined = image.id; id !== undefined && !kept.has(id); id = store.get(id)?.record.parent) kept.add(id);
  }
  return kept;
}
