import { log } from '../log.js';
import { readJson, writeJsonAtomic } from '../store/json-file.js';
import { isDigest, type Digest } from './digest.js';
import { Mutex } from './lock.js';

/**
 * Where each layer's compressed blob is known to live in registries (moby's V2 metadata
 * service): berthd stores layers uncompressed, keyed by diff ID, so the digest a registry
 * knows a layer by exists only here. A pull records the blob it downloaded; a push records
 * the blob it uploaded, found or mounted. Push then skips a layer the target repository
 * has (`Layer already exists`) and mounts one another repository of the same registry has
 * (`Mounted from ...`) instead of compressing and uploading it again.
 *
 * Persisted as `images/distribution.json`, rewritten atomically on each change:
 *
 *   {"<diff id>": [{"digest": "sha256:...", "size": 123, "mediaType": "...",
 *                   "repository": "127.0.0.1:5000/test/busybox"}, ...]}   oldest first
 *
 * Entries outlive the layers they describe (harmless: they are looked up by diff ID and a
 * stale one only costs a failed check), and each layer keeps its newest MAX_SOURCES.
 */
export interface LayerSource {
  /** The compressed blob's digest, as a manifest names it. */
  readonly digest: Digest;
  /** The compressed blob's size in bytes. */
  readonly size: number;
  /** The blob's media type, as a manifest names it (gzip for what berthd pushes). */
  readonly mediaType: string;
  /** The repository's full name, domain included: `docker.io/library/busybox`. */
  readonly repository: string;
}

type MetadataFile = Record<string, LayerSource[]>;

const MAX_SOURCES = 50;

export class DistributionMetadata {
  private readonly byDiffId = new Map<Digest, LayerSource[]>();
  private readonly mutex = new Mutex();

  constructor(private readonly path: string) {}

  /** Loads the file; entries that are not well formed are dropped (with a warning). */
  async init(): Promise<void> {
    const file = await readJson<MetadataFile>(this.path).catch((err: unknown) => {
      log.warn('image.distribution.discard', { file: this.path, error: err instanceof Error ? err.message : String(err) });
      return undefined;
    });
    for (const [diffId, sources] of Object.entries(file ?? {})) {
      if (!isDigest(diffId) || !Array.isArray(sources)) continue;
      const valid = sources.filter(isLayerSource);
      if (valid.length > 0) this.byDiffId.set(diffId, valid);
    }
  }

  /** Every known source of the layer, newest first. */
  sources(diffId: Digest): LayerSource[] {
    return [...(this.byDiffId.get(diffId) ?? [])].reverse();
  }

  /** Records (or refreshes, as the newest) that `source.repository` holds the layer as `source.digest`. */
  add(diffId: Digest, source: LayerSource): Promise<void> {
    return this.mutex.run(async () => {
      const kept = (this.byDiffId.get(diffId) ?? []).filter((s) => !sameSource(s, source));
      kept.push({ digest: source.digest, size: source.size, mediaType: source.mediaType, repository: source.repository });
      this.byDiffId.set(diffId, kept.slice(-MAX_SOURCES));
      await this.save();
    });
  }

  /** Forgets one source (the registry no longer has the blob there). */
  remove(diffId: Digest, source: Pick<LayerSource, 'digest' | 'repository'>): Promise<void> {
    return this.mutex.run(async () => {
      const before = this.byDiffId.get(diffId) ?? [];
      const kept = before.filter((s) => !sameSource(s, source));
      if (kept.length === before.length) return;
      if (kept.length === 0) this.byDiffId.delete(diffId);
      else this.byDiffId.set(diffId, kept);
      await this.save();
    });
  }

  private async save(): Promise<void> {
    const file: MetadataFile = {};
    for (const [diffId, sources] of [...this.byDiffId.entries()].sort(([a], [b]) => a.localeCompare(b))) file[diffId] = sources;
    await writeJsonAtomic(this.path, file);
  }
}

function sameSource(a: Pick<LayerSource, 'digest' | 'repository'>, b: Pick<LayerSource, 'digest' | 'repository'>): boolean {
  return a.digest === b.digest && a.repository === b.repository;
}

function isLayerSource(value: unknown): value is LayerSource {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return (
    typeof s.digest === 'string' &&
    isDigest(s.digest) &&
    typeof s.size === 'number' &&
    Number.isSafeInteger(s.size) &&
    s.size >= 0 &&
    typeof s.mediaType === 'string' &&
    typeof s.repository === 'string' &&
    s.repository !== ''
  );
}
