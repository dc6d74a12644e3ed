import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, errnoCode, invalid, notFound } from '../errors.js';
import { log } from '../log.js';
import { readJson, writeJsonAtomic } from '../store/json-file.js';
import type { DataLayout } from '../store/layout.js';
import type { ContainerRecord } from './model.js';

export const RECORD = 'container.json';
/** A removal renames the directory to this first, so a crash never leaves half a container. */
const REMOVING_SUFFIX = '.removing';
const CONTAINER_ID = /^[0-9a-f]{64}$/;

/**
 * Every container record, in memory and on disk (`containers/<id>/container.json`).
 * Lookups accept a full ID, a unique ID prefix, or a name (with or without `/`),
 * as Docker's do. Names are unique.
 */
export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  /** Saves of one record run one after another, so the last state written is the last state. */
  private readonly saving = new Map<string, Promise<void>>();

  constructor(private readonly layout: DataLayout) {}

  async load(): Promise<ContainerRecord[]> {
    await mkdir(this.layout.containersDir, { recursive: true, mode: 0o700 });
    for (const id of await readdir(this.layout.containersDir)) {
      if (!CONTAINER_ID.test(id)) {
        // A removal cut short (`<id>.removing`), or something that is not ours to keep.
        log.warn('container.discard-leftover', { dir: id });
        await rm(join(this.layout.containersDir, id), { recursive: true, force: true });
        continue;
      }
      const record = await readJson<ContainerRecord>(join(this.layout.container(id), RECORD));
      if (!record) {
        // A create that died before its record was written: nothing the user made.
        log.warn('container.discard-incomplete', { id });
        await rm(this.layout.container(id), { recursive: true, force: true });
        continue;
      }
      this.byId.set(record.Id, record);
    }
    return [...this.byId.values()];
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** Finds a container by ID, ID prefix or name; 404 `No such container: x` otherwise. */
  get(ref: string): ContainerRecord {
    const found = this.find(ref);
    if (!found) throw notFound(`No such container: ${ref}`);
    return found;
  }

  find(ref: string): ContainerRecord | undefined {
    if (ref === '') return undefined;
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    for (const c of this.byId.values()) if (c.Name === name) return c;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const matches = [...this.byId.values()].filter((c) => c.Id.startsWith(ref));
    if (matches.length > 1) throw invalid(`multiple IDs found with provided prefix: ${ref}`);
    return matches[0];
  }

  nameTaken(name: string): boolean {
    for (const c of this.byId.values()) if (c.Name === name) return true;
    return false;
  }

  assertNameFree(name: string): void {
    for (const c of this.byId.values()) {
      if (c.Name === name) {
        throw conflict(
          `Conflict. The container name "/${name}" is already in use by container "${c.Id}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      }
    }
  }

  /** Adds a new record: its directory must already exist. */
  async add(record: ContainerRecord): Promise<void> {
    this.assertNameFree(record.Name);
    this.byId.set(record.Id, record);
    await this.save(record);
  }

  save(record: ContainerRecord): Promise<void> {
    const snapshot = JSON.parse(JSON.stringify(record)) as ContainerRecord;
    const previous = this.saving.get(record.Id) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (!this.byId.has(record.Id)) return; // removed meanwhile
      await writeJsonAtomic(join(this.layout.container(record.Id), RECORD), snapshot);
    });
    const settled = next.catch(() => undefined);
    this.saving.set(record.Id, settled);
    void settled.then(() => {
      if (this.saving.get(record.Id) === settled) this.saving.delete(record.Id);
    });
    return next;
  }

  /** Forgets the record and deletes the container's directory (its writable layer too). */
  async remove(id: string): Promise<void> {
    this.byId.delete(id);
    await this.saving.get(id);
    const dir = this.layout.container(id);
    try {
      await rename(dir, dir + REMOVING_SUFFIX);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    await rm(dir + REMOVING_SUFFIX, { recursive: true, force: true });
  }
}
