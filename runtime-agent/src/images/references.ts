import { conflict } from '../errors.js';
import { log } from '../log.js';
import { readJson, writeJsonAtomic } from '../store/json-file.js';
import { isDigest, type Digest } from './digest.js';
import { familiarString, nameOf, parseCanonical, refString, type ImageReference } from './reference.js';

/**
 * Tags and digests → image IDs, persisted as `images/repositories.json` in Docker's own
 * shape (full names, so `docker.io/library/busybox:latest`):
 *
 *   {"Repositories": {"docker.io/library/busybox": {
 *       "docker.io/library/busybox:latest": "sha256:<image id>",
 *       "docker.io/library/busybox@sha256:<manifest digest>": "sha256:<image id>"}}}
 *
 * Stored references are either tagged or digested, never both (see storeReference).
 * Callers serialise mutations (ImageStore's mutex); each one rewrites the file atomically.
 */
interface RepositoriesFile {
  Repositories: Record<string, Record<string, string>>;
}

export class ReferenceStore {
  private readonly refs = new Map<string, Digest>();

  constructor(private readonly path: string) {}

  async init(): Promise<void> {
    const file = await readJson<RepositoriesFile>(this.path);
    for (const repo of Object.values(file?.Repositories ?? {})) {
      for (const [key, id] of Object.entries(repo)) {
        try {
          parseCanonical(key);
        } catch {
          log.warn('image.reference.discard', { reference: key });
          continue;
        }
        if (isDigest(id)) this.refs.set(key, id);
      }
    }
  }

  get(ref: ImageReference): Digest | undefined {
    return this.refs.get(refString(ref));
  }

  /** Every reference to `id`, sorted as Docker sorts them (lexically by full string). */
  referencesOf(id: Digest): ImageReference[] {
    return [...this.refs.entries()]
      .filter(([, target]) => target === id)
      .map(([key]) => key)
      .sort()
      .map((key) => parseCanonical(key));
  }

  /** Every reference in the repository `ref` names (any tag or digest). */
  byName(ref: ImageReference): { ref: ImageReference; id: Digest }[] {
    const name = nameOf(ref);
    return [...this.refs.entries()]
      .map(([key, id]) => ({ ref: parseCanonical(key), id }))
      .filter((e) => nameOf(e.ref) === name)
      .sort((a, b) => refString(a.ref).localeCompare(refString(b.ref)));
  }

  /**
   * Points `ref` at `id`; returns the image it pointed at before. A digest reference never
   * moves; a tag moves only with `force` (tag, load and import all force, as Docker does).
   */
  async add(ref: ImageReference, id: Digest, force: boolean): Promise<Digest | undefined> {
    const key = refString(ref);
    const previous = this.refs.get(key);
    if (previous !== undefined && previous !== id) {
      if (ref.digest !== undefined) throw conflict(`Cannot overwrite digest ${familiarString(ref)}`);
      if (!force) {
        throw conflict(
          `Conflict: Tag ${familiarString(ref)} is already set to image ${previous}, if you want to replace it, please use the force option`,
        );
      }
    }
    if (previous === id) return previous;
    this.refs.set(key, id);
    await this.save();
    return previous;
  }

  async delete(ref: ImageReference): Promise<boolean> {
    if (!this.refs.delete(refString(ref))) return false;
    await this.save();
    return true;
  }

  private async save(): Promise<void> {
    const file: RepositoriesFile = { Repositories: {} };
    for (const [key, id] of [...this.refs.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const name = nameOf(parseCanonical(key));
      (file.Repositories[name] ??= {})[key] = id;
    }
    await writeJsonAtomic(this.path, file);
  }
}
