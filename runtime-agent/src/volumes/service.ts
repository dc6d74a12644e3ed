import { conflict, invalid, messageOf, notFound, systemError } from '../errors.js';
import type { Filters } from '../api/query.js';
import type { ContainerVolumes, EnsuredVolume, VolumeCreateOptions, VolumeUsers } from '../containers/volumes.js';
import type { EventBus } from '../events/bus.js';
import { log } from '../log.js';
import type { NativeAddon } from '../native/addon-api.js';
import type { DataLayout } from '../store/layout.js';
import { listPredicate, prunePredicate } from './filters.js';
import { ANONYMOUS_LABEL, LOCAL_DRIVER, needsMount, type VolumeRecord } from './model.js';
import { NameLocks } from './name-locks.js';
import { newVolumeName, validateVolumeName } from './names.js';
import { OptionMounts } from './option-mounts.js';
import { validateDriverOptions } from './options.js';
import { directorySize } from '../store/directory-size.js';
import { VolumeStore } from './store.js';
import { volumeView, type VolumeView } from './view.js';

/** `POST /volumes/create`'s body (VolumeCreateOptions). */
export interface CreateVolumeRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface PruneReport {
  VolumesDeleted: string[];
  SpaceReclaimed: number;
}

export interface VolumeServiceDeps {
  readonly layout: DataLayout;
  readonly addon: NativeAddon;
  readonly events: EventBus;
  /** Which containers use a volume (their records' MountPoints); bound late in main.ts. */
  readonly users: VolumeUsers;
}

/**
 * berthd's volumes (local driver only): the API's verbs, the container side (ContainerVolumes)
 * and the volume events, as moby's volume service:
 *
 *   create   idempotent by name (an existing volume is returned; with different -o options
 *            given, a 409); an empty name makes an anonymous volume
 *   remove   409 `remove x: volume is in use - [ids]` while any container (any state) has a
 *            mount of it, even with force; force only makes a missing volume a success
 *   prune    unused volumes without options: anonymous ones, or all with `all=true`
 *   events   create, destroy, prune {reclaimed}, mount {driver, container, destination,
 *            read/write, propagation}, unmount {driver, container}
 *
 * Start-up: init() loads the records and notes option-backed mounts a crash left; once
 * containers have recovered, reconcile() unmounts those no running container uses.
 */
export class VolumeService implements ContainerVolumes {
  private readonly store: VolumeStore;
  private readonly mounts: OptionMounts;
  private readonly locks = new NameLocks();
  private pruning = false;

  constructor(private readonly deps: VolumeServiceDeps) {
    this.store = new VolumeStore(deps.layout);
    this.mounts = new OptionMounts(deps.addon);
  }

  async init(): Promise<void> {
    const records = await this.store.load();
    const leftovers = await this.mounts.adopt(records.filter(needsMount).map((v) => ({ name: v.Name, dataDir: this.store.dataDir(v.Name) })));
    log.info('volume.init', { volumes: records.length, mounted: leftovers.length });
  }

  /** After containers recovered: unmounts option-backed volumes no running container uses. */
  async reconcile(): Promise<void> {
    for (const v of this.store.all().filter((r) => this.mounts.isMounted(r.Name))) {
      await this.locks.run(v.Name, async () => {
        for (const c of this.deps.users.containersUsing(v.Name)) if (c.State.Running) this.mounts.claim(v.Name, c.Id);
        if (this.mounts.usersOf(v.Name).length === 0) this.mounts.release(v.Name, this.store.dataDir(v.Name));
      });
    }
  }

  /** SIGTERM, after containers stopped: nothing berthd mounted stays mounted. */
  async shutdown(): Promise<void> {
    for (const v of this.store.all().filter((r) => this.mounts.isMounted(r.Name))) {
      await this.locks.run(v.Name, async () => {
        try {
          this.mounts.release(v.Name, this.store.dataDir(v.Name));
        } catch (err) {
          log.warn('volume.unmount-failed', { name: v.Name, error: messageOf(err) });
        }
      });
    }
  }

  async create(req: CreateVolumeRequest): Promise<VolumeView> {
    const name = stringField(req.Name, 'Name');
    const driver = stringField(req.Driver, 'Driver') || LOCAL_DRIVER;
    const opts = stringMap(req.DriverOpts, 'DriverOpts');
    const labels = stringMap(req.Labels, 'Labels');
    if (driver !== LOCAL_DRIVER) {
      throw invalid(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found (berthd provides only the "local" driver)`);
    }
    const record = name === '' ? await this.createAnonymous(opts, labels) : await this.createNamed(name, opts, labels, true);
    return this.view(record);
  }

  list(filters: Filters): VolumeView[] {
    const matches = listPredicate(filters);
    return this.store
      .all()
      .filter((v) => matches(v, this.inUse(v.Name)))
      .sort((a, b) => (a.Name < b.Name ? -1 : 1))
      .map((v) => this.view(v));
  }

  inspect(name: string): VolumeView {
    return this.view(this.store.get(name));
  }

  async remove(name: string, force: boolean): Promise<void> {
    await this.locks.run(name, async () => {
      const v = this.store.find(name);
      if (v === undefined) {
        if (force) return; // moby: PurgeOnError makes a missing volume a success
        throw notFound(`get ${name}: no such volume`);
      }
      const users = this.deps.users.containersUsing(name).map((c) => c.Id);
      if (users.length > 0) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      await this.destroy(v);
    });
  }

  async prune(filters: Filters): Promise<PruneReport> {
    const wanted = prunePredicate(filters);
    if (this.pruning) throw conflict('a prune operation is already running');
    this.pruning = true;
    try {
      const report: PruneReport = { VolumesDeleted: [], SpaceReclaimed: 0 };
      // Option-backed volumes are skipped as in moby: nothing local to reclaim.
      const candidates = this.store.all().filter((v) => !needsMount(v) && wanted(v));
      for (const candidate of candidates) {
        await this.locks.run(candidate.Name, async () => {
          const v = this.store.find(candidate.Name);
          if (v === undefined || this.inUse(v.Name)) return;
          const size = await directorySize(this.store.dataDir(v.Name)).catch(() => 0);
          try {
            await this.destroy(v);
          } catch (err) {
            log.warn('volume.prune-skipped', { name: v.Name, error: messageOf(err) });
            return;
          }
          report.VolumesDeleted.push(v.Name);
          report.SpaceReclaimed += size;
        });
      }
      this.deps.events.emit('volume', 'prune', '', { reclaimed: String(report.SpaceReclaimed) });
      log.info('volume.prune', { deleted: report.VolumesDeleted.length, reclaimed: report.SpaceReclaimed });
      return report;
    } finally {
      this.pruning = false;
    }
  }

  /**
   * `GET /system/df`'s volumes: plain local volumes with UsageData (Size: bytes under `_data`,
   * hardlinks once, -1 when unreadable; RefCount: containers using it). Option-backed volumes
   * are left out as moby leaves them out: their bytes live elsewhere (tmpfs, a host dir, nfs).
   */
  async usage(): Promise<VolumeView[]> {
    const plain = this.store.all().filter((v) => !needsMount(v)).sort((a, b) => (a.Name < b.Name ? -1 : 1));
    const views: VolumeView[] = [];
    // One walk at a time, as for containers' layers: df must not flood the disk.
    for (const v of plain) {
      const size = await directorySize(this.store.dataDir(v.Name)).catch(() => -1);
      views.push({ ...this.view(v), UsageData: { Size: size, RefCount: this.deps.users.containersUsing(v.Name).length } });
    }
    return views;
  }

  /** The host directory holding a volume's files (the browse API); not-found when absent. */
  async dataDir(name: string): Promise<string> {
    this.store.get(name);
    return this.store.dataDir(name);
  }

  // ---- ContainerVolumes ----

  /** `create` applies only to a volume this call makes: an existing one is returned as it is. */
  async ensure(name: string | undefined, create: VolumeCreateOptions = {}): Promise<EnsuredVolume> {
    const opts = { ...create.driverOptions };
    const labels = { ...create.labels };
    const v = name === undefined ? await this.createAnonymous(opts, labels) : await this.createNamed(name, opts, labels, false);
    return { name: v.Name, mountpoint: this.store.dataDir(v.Name), driver: v.Driver };
  }

  async mount(name: string, containerId: string): Promise<string> {
    return this.locks.run(name, async () => {
      const v = this.store.get(name);
      const dataDir = this.store.dataDir(name);
      if (needsMount(v)) this.mounts.acquire(v, dataDir, containerId);
      const point = this.deps.users
        .containersUsing(name)
        .find((c) => c.Id === containerId)
        ?.MountPoints?.find((m) => m.Type === 'volume' && m.Name === name);
      this.deps.events.emit('volume', 'mount', name, {
        driver: v.Driver,
        container: containerId,
        destination: point?.Destination ?? '',
        'read/write': String(point?.RW ?? true),
        propagation: point?.Propagation ?? '',
      });
      return dataDir;
    });
  }

  async unmount(name: string, containerId: string): Promise<void> {
    await this.locks.run(name, async () => {
      const v = this.store.find(name);
      if (v === undefined) return;
      if (needsMount(v)) this.mounts.drop(v.Name, this.store.dataDir(name), containerId);
      this.deps.events.emit('volume', 'unmount', name, { driver: v.Driver, container: containerId });
    });
  }

  /**
   * `docker rm -v` / `--rm`: the container's anonymous volumes, once its record is gone (a
   * volume another container still uses is kept, silently, as moby keeps it). Missing ones are
   * skipped; other failures are reported together after every volume was tried.
   */
  async removeAnonymous(names: readonly string[]): Promise<void> {
    const failures: string[] = [];
    for (const name of names) {
      await this.locks.run(name, async () => {
        const v = this.store.find(name);
        if (v === undefined || this.inUse(name)) return;
        await this.destroy(v);
      }).catch((err: unknown) => failures.push(messageOf(err)));
    }
    if (failures.length > 0) throw systemError(`Error removing volumes:\n${failures.join('\n')}`);
  }

  // ---- internals ----

  private inUse(name: string): boolean {
    return this.deps.users.containersUsing(name).length > 0;
  }

  private view(v: VolumeRecord): VolumeView {
    return volumeView(v, this.store.dataDir(v.Name));
  }

  private async createAnonymous(opts: Record<string, string>, labels: Record<string, string>): Promise<VolumeRecord> {
    const name = newVolumeName();
    return this.locks.run(name, () => this.createRecord(name, opts, { ...labels, [ANONYMOUS_LABEL]: '' }));
  }

  /**
   * An existing volume is returned as it is (Docker's); with `strict` (the create API) options
   * given that contradict it are a 409 rather than silently lost.
   */
  private createNamed(name: string, opts: Record<string, string>, labels: Record<string, string>, strict: boolean): Promise<VolumeRecord> {
    validateVolumeName(name);
    return this.locks.run(name, async () => {
      const existing = this.store.find(name);
      if (existing === undefined) return this.createRecord(name, opts, labels);
      if (strict && Object.keys(opts).length > 0 && !sameOptions(existing.Options, opts)) {
        throw conflict(
          `create ${name}: a volume named ${name} already exists with other options (${describe(existing.Options)}); remove it first or create it without -o`,
        );
      }
      return existing;
    });
  }

  private async createRecord(name: string, opts: Record<string, string>, labels: Record<string, string>): Promise<VolumeRecord> {
    validateDriverOptions(name, opts);
    const record: VolumeRecord = { Name: name, Driver: LOCAL_DRIVER, Labels: labels, Options: opts, CreatedAt: new Date().toISOString() };
    await this.store.create(record);
    log.info('volume.create', { name, options: describe(opts) });
    this.deps.events.emit('volume', 'create', name, { driver: record.Driver });
    return record;
  }

  /** Unmounts if needed, deletes, and says so (caller holds the name's lock). */
  private async destroy(v: VolumeRecord): Promise<void> {
    if (this.mounts.isMounted(v.Name)) this.mounts.release(v.Name, this.store.dataDir(v.Name));
    await this.store.remove(v.Name);
    log.info('volume.remove', { name: v.Name });
    this.deps.events.emit('volume', 'destroy', v.Name, { driver: v.Driver });
  }
}

function stringField(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalid(`create: ${field} must be a string`);
  return value;
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`create: ${field} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw invalid(`create: ${field}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

function sameOptions(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function describe(opts: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(opts).map(([k, v]) => `${k}=${v}`);
  return pairs.length > 0 ? pairs.join(',') : 'none';
}

