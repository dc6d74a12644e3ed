import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, messageOf, notFound, systemError } from '../errors.js';
import { log } from '../log.js';
import { readJson, writeJsonAtomic } from '../store/json-file.js';
import type { DataLayout } from '../store/layout.js';
import { DATA_DIR, type VolumeRecord } from './model.js';
import { mountsUnder } from './mountinfo.js';

const RECORD_FILE = 'volume.json';

/**
 * The volume records on disk and in memory:
 *
 *   <data-root>/volumes/<name>/
 *   ├── volume.json     the VolumeRecord, written last at create and removed first at rm, so
 *   │                   a directory without it is a create or rm cut short (cleared at load)
 *   └── _data/          the files (0755 root; a mount point for option-backed volumes)
 *
 * Nothing here mounts; removal refuses while anything is mounted at or under the volume's
 * directory, so a bind-backed volume's host directory can never be deleted through it.
 */
export class VolumeStore {
  private readonly byName = new Map<string, VolumeRecord>();

  constructor(private readonly layout: DataLayout) {}

  async load(): Promise<VolumeRecord[]> {
    await mkdir(this.layout.volumesDir, { recursive: true, mode: 0o701 });
    for (const entry of await readdir(this.layout.volumesDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = this.layout.volume(entry.name);
      let record: VolumeRecord | undefined;
      try {
        record = await readJson<VolumeRecord>(join(dir, RECORD_FILE));
      } catch (err) {
        log.warn('volume.load-failed', { name: entry.name, error: messageOf(err) });
        continue;
      }
      if (record === undefined) {
        await this.discardHalfMade(entry.name);
        continue;
      }
      if (record.Name !== entry.name) {
        log.warn('volume.load-skipped', { dir: entry.name, name: record.Name, reason: 'record names another volume' });
        continue;
      }
      this.byName.set(record.Name, { ...record, Labels: record.Labels ?? {}, Options: record.Options ?? {} });
    }
    return this.all();
  }

  all(): VolumeRecord[] {
    return [...this.byName.values()];
  }

  find(name: string): VolumeRecord | undefined {
    return this.byName.get(name);
  }

  /** Docker's not-found, prefixed with the operation as moby's OpErr (`get x: no such volume`). */
  get(name: string, op = 'get'): VolumeRecord {
    const v = this.byName.get(name);
    if (v === undefined) throw notFound(`${op} ${name}: no such volume`);
    return v;
  }

  dataDir(name: string): string {
    return join(this.layout.volume(name), DATA_DIR);
  }

  /** Makes the directories, then the record; nothing is left when a step fails. */
  async create(record: VolumeRecord): Promise<void> {
    const dir = this.layout.volume(record.Name);
    try {
      await mkdir(dir, { mode: 0o701 });
      await mkdir(join(dir, DATA_DIR), { mode: 0o755 });
      await writeJsonAtomic(join(dir, RECORD_FILE), record);
    } catch (err) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw systemError(`create ${record.Name}: cannot make the volume's directory ${dir}: ${messageOf(err)}`, err);
    }
    this.byName.set(record.Name, record);
  }

  /** Deletes the record and the files; refuses (system error) while something is mounted there. */
  async remove(name: string): Promise<void> {
    const dir = this.layout.volume(name);
    await this.refuseMounted(name, dir);
    try {
      await rm(join(dir, RECORD_FILE), { force: true });
      this.byName.delete(name);
      await rm(dir, { recursive: true, force: true });
    } catch (err) {
      throw systemError(`remove ${name}: cannot delete ${dir}: ${messageOf(err)}`, err);
    }
  }

  private async refuseMounted(name: string, dir: string): Promise<void> {
    const mounted = await mountsUnder(dir);
    if (mounted.length > 0) throw systemError(`remove ${name}: ${mounted.join(', ')} is still mounted; not deleting the volume's files`);
  }

  private async discardHalfMade(name: string): Promise<void> {
    const dir = this.layout.volume(name);
    try {
      await this.refuseMounted(name, dir);
      await rm(dir, { recursive: true, force: true });
      log.warn('volume.discarded', { name, reason: 'no volume.json (a create or remove was cut short)' });
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') log.warn('volume.discard-failed', { name, error: messageOf(err) });
    }
  }
}
