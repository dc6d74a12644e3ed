import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Mutex } from '../images/lock.js';
import { log } from '../log.js';
import { readJson, writeJsonAtomic } from '../store/json-file.js';

/**
 * The classic builder's cache: which image a build step made, keyed by what decides that
 * image, so the same step on the same parent reuses it (` ---> Using cache`):
 *
 *   key = sha256(parent image ID | "scratch", the step as history records it — e.g.
 *         `/bin/sh -c #(nop) COPY file:<content sha256> in /app ` or `|1 V=2 /bin/sh -c make`
 *         (RUN: the build args the step sees) — and the config the step leaves)
 *
 * Persistent in `<data-root>/build/cache.json`; the images it names are the intermediate
 * images (untagged, hidden from `docker images` as parents of others). A record whose image
 * is gone (rmi, image prune) is dropped when next looked up or pruned.
 *
 *   <data-root>/build/cache.json   {"version":1,"entries":{"<key>":{"image","created","lastUsed"}}}
 */
export interface CacheEntry {
  readonly image: string;
  readonly created: string;
  lastUsed: string;
}

interface CacheFile {
  readonly version: 1;
  readonly entries: Record<string, CacheEntry>;
}

export interface StepIdentity {
  readonly parent: string | undefined;
  readonly createdBy: string;
  readonly config: unknown;
}

export function cacheKey(step: StepIdentity): string {
  return createHash('sha256').update(JSON.stringify([step.parent ?? 'scratch', step.createdBy, step.config])).digest('hex');
}

export class BuildCache {
  private entries = new Map<string, CacheEntry>();
  private readonly mutex = new Mutex();

  constructor(private readonly path: string) {}

  async init(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const file = await readJson<CacheFile>(this.path).catch((err: unknown) => {
      log.warn('build.cache.unreadable', { path: this.path, error: err instanceof Error ? err.message : String(err) });
      return undefined;
    });
    this.entries = new Map(file?.version === 1 ? Object.entries(file.entries) : []);
  }

  /** The image a step made before, if `exists` still finds it (else the record goes). */
  async lookup(key: string, exists: (image: string) => boolean): Promise<string | undefined> {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (!exists(entry.image)) {
      await this.update(() => this.entries.delete(key));
      return undefined;
    }
    entry.lastUsed = new Date().toISOString();
    return entry.image;
  }

  async record(key: string, image: string): Promise<void> {
    const now = new Date().toISOString();
    await this.update(() => this.entries.set(key, { image, created: now, lastUsed: now }));
  }

  all(): ReadonlyMap<string, CacheEntry> {
    return this.entries;
  }

  /** Drops the records `drop` selects. */
  async remove(drop: (entry: CacheEntry) => boolean): Promise<void> {
    await this.update(() => {
      for (const [key, entry] of this.entries) if (drop(entry)) this.entries.delete(key);
    });
  }

  private update(change: () => void): Promise<void> {
    return this.mutex.run(async () => {
      change();
      const file: CacheFile = { version: 1, entries: Object.fromEntries(this.entries) };
      await writeJsonAtomic(this.path, file);
    });
  }
}
