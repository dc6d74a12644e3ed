/**
 * Docker's mount syntaxes, parsed and validated without touching anything: `-v` (HostConfig
 * .Binds), `--mount` (HostConfig.Mounts), `--tmpfs` (HostConfig.Tmpfs) and `--volumes-from`.
 * Rules and messages follow moby's volume/mounts/linux_parser.go, so the CLI prints what it
 * prints against Docker:
 *
 *   -v name:/data:ro,nocopy      named volume        -v /host:/data:ro,rslave   bind
 *   -v /data                     anonymous volume    --tmpfs /run:size=64m,mode=1777
 *   --mount type=volume,src=name,dst=/data,volume-nocopy
 *   --mount type=bind,src=/host,dst=/data,readonly,bind-propagation=rshared
 *   --mount type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1770
 *
 * Volumes come out without their Source (the volume's `_data`), and anonymous ones without a
 * Name: both are known only once mounts.ts has ensured the volume.
 */
import { posix } from 'node:path';
import { invalid, notFound } from '../errors.js';
import type { ContainerRecord, MountPoint, MountRequest } from './model.js';
import { validateVolumeName } from '../volumes/names.js';
import type { VolumeCreateOptions } from './volumes.js';

/** One mount as parsed, before its volume (if any) exists. */
export interface ParsedMount {
  readonly point: MountPoint;
  /** Volumes: how to create it when it does not exist yet. */
  readonly volumeOptions?: VolumeCreateOptions;
  /** `--mount type=bind` without CreateMountpoint: the source must already exist (checked by
   *  the caller, which may stat; this module never touches the disk). */
  readonly sourceMustExist?: boolean;
}

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const DEFAULT_PROPAGATION = 'rprivate';
const LABEL_MODES = new Set(['z', 'Z']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated']);
const LOCAL_DRIVER = 'local';

/** Go's `path.Clean` for absolute and relative slash paths ('' stays ''). */
export function cleanPath(p: string): string {
  if (p === '') return '';
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function modeParts(mode: string): string[] {
  return mode === '' ? [] : mode.split(',');
}

/** A `-v` mode: each kind (rw/ro, z/Z, propagation, nocopy, consistency) at most once. */
function validMode(mode: string): boolean {
  const counts = new Map<string, number>();
  for (const o of modeParts(mode)) {
    const kind = o === 'ro' || o === 'rw' ? 'rw' : LABEL_MODES.has(o) ? 'label' : PROPAGATIONS.has(o) ? 'propagation'
      : o === 'nocopy' ? 'copy' : CONSISTENCY_MODES.has(o) ? 'consistency' : undefined;
    if (kind === undefined) return false;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts.values()].every((n) => n === 1);
}

const readWrite = (mode: string): boolean => !modeParts(mode).includes('ro');
const modePropagation = (mode: string): string | undefined => modeParts(mode).find((o) => PROPAGATIONS.has(o));

/** Refuses a destination that is relative or `/` (tmpfs's rules, and every mount's). */
function destinationError(target: string): string | undefined {
  const p = target.replaceAll('\\', '/');
  if (cleanPath(p) === '/') return 'invalid specification: destination can\'t be \'/\'';
  if (!p.startsWith('/')) return `invalid mount path: '${p}' mount path must be absolute`;
  return undefined;
}

function present<T>(v: T | null | undefined): v is T {
  return v !== null && v !== undefined;
}

/** moby's validateMountConfig: the first problem with a `--mount`, or undefined. */
function mountConfigProblem(m: MountRequest): string | undefined {
  const type = m.Type ?? '';
  if (type !== 'bind' && present(m.BindOptions)) return 'field BindOptions must not be specified';
  if (type !== 'volume' && present(m.VolumeOptions)) return 'field VolumeOptions must not be specified';
  if (type !== 'tmpfs' && present(m.TmpfsOptions)) return 'field TmpfsOptions must not be specified';
  const target = m.Target ?? '';
  if (target === '') return 'field Target must not be empty';
  const dest = destinationError(target);
  if (dest) return dest;
  const source = m.Source ?? '';
  switch (type) {
    case 'bind': {
      if (source === '') return 'field Source must not be empty';
      const propagation = m.BindOptions?.Propagation ?? '';
      if (propagation !== '' && !PROPAGATIONS.has(propagation)) return `invalid propagation mode: ${propagation}`;
      if (!source.startsWith('/')) return `invalid mount path: '${source}' mount path must be absolute`;
      return undefined;
    }
    case 'volume': {
      const subpath = m.VolumeOptions?.Subpath ?? '';
      if (subpath !== '' && source === '') return 'must not set Subpath when using anonymous volumes';
      if (subpath !== '') return 'VolumeOptions.Subpath is not supported by berthd yet: mount the whole volume';
      return undefined;
    }
    case 'tmpfs': {
      if (source !== '') return 'field Source must not be specified';
      const { SizeBytes: size = 0, Mode: mode = 0 } = m.TmpfsOptions ?? {};
      if (!Number.isSafeInteger(size) || size < 0) return `invalid tmpfs size: ${String(size)} (a whole number of bytes)`;
      if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) return `invalid tmpfs mode: ${String(mode)} (permission bits, e.g. 1777 octal)`;
      return undefined;
    }
    default:
      return 'mount type unknown';
  }
}

function mountConfigError(m: MountRequest, problem: string): Error {
  return invalid(`invalid mount config for type "${m.Type ?? ''}": ${problem}`);
}

function volumePoint(name: string, destination: string, mode: string, rw: boolean, noCopy: boolean): MountPoint {
  // The local driver's rule, checked now so that a bad name refuses the create before anything is made.
  if (name !== '') validateVolumeName(name);
  return {
    Type: 'volume',
    ...(name !== '' ? { Name: name } : {}),
    Source: '',
    Destination: destination,
    Driver: LOCAL_DRIVER,
    // moby's setBindModeIfNull: a local volume's mount is relabelled (`z`) unless told otherwise.
    Mode: mode === '' ? 'z' : mode,
    RW: rw,
    Propagation: '',
    ...(name === '' ? { Anonymous: true } : {}),
    ...(noCopy ? { NoCopy: true } : {}),
  };
}

/** One `-v` / Binds entry: `[source:]destination[:mode]`. */
export function parseBind(raw: string): ParsedMount {
  const invalidSpec = `invalid volume specification: '${raw}'`;
  if (typeof raw !== 'string') throw invalid(`invalid volume specification: ${JSON.stringify(raw)}`);
  const parts = raw.split(':');
  // Go's SplitN(raw, ":", 4): a fourth part keeps the rest.
  const arr = parts.length > 4 ? [...parts.slice(0, 3), parts.slice(3).join(':')] : parts;
  if (arr[0] === '') throw invalid(invalidSpec);
  let source = '';
  let target: string;
  let mode = '';
  if (arr.length === 1) target = arr[0] as string;
  else if (arr.length === 2) {
    // `/foo:rw` is a destination with a mode, which only a named source may have.
    if (validMode(arr[1] as string)) throw invalid(invalidSpec);
    [source, target] = arr as [string, string];
  } else if (arr.length === 3) [source, target, mode] = arr as [string, string, string];
  else throw invalid(invalidSpec);
  if (!validMode(mode)) throw invalid(`invalid mode: ${mode}`);

  const type = source.startsWith('/') ? 'bind' : 'volume';
  const propagation = modePropagation(mode);
  const noCopy = modeParts(mode).includes('nocopy');
  const request: MountRequest = {
    Type: type,
    Source: source,
    Target: target,
    ...(noCopy ? { VolumeOptions: { NoCopy: true } } : {}),
    ...(propagation ? { BindOptions: { Propagation: propagation } } : {}),
  };
  const problem = mountConfigProblem(request);
  if (problem) throw invalid(`${invalidSpec}: invalid mount config for type "${type}": ${problem}`);
  const destination = cleanPath(target);
  const rw = readWrite(mode);
  if (type === 'volume') return { point: volumePoint(source, destination, mode, rw, noCopy) };
  return {
    point: { Type: 'bind', Source: cleanPath(source), Destination: destination, Mode: mode, RW: rw, Propagation: propagation ?? DEFAULT_PROPAGATION },
  };
}

/** Go's tmpfs size: the largest of g/m/k that divides it, else bytes. */
function tmpfsSize(bytes: number): string {
  for (const [suffix, unit] of [['g', 2 ** 30], ['m', 2 ** 20], ['k', 2 ** 10]] as const) {
    if (bytes % unit === 0) return `size=${bytes / unit}${suffix}`;
  }
  return `size=${bytes}`;
}

/** One `--mount` / HostConfig.Mounts entry. */
export function parseMount(m: MountRequest): ParsedMount {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw invalid('HostConfig.Mounts: each mount must be an object with Type, Source and Target');
  const problem = mountConfigProblem(m);
  if (problem) throw mountConfigError(m, problem);
  const destination = cleanPath((m.Target as string).replaceAll('\\', '/'));
  const rw = m.ReadOnly !== true;
  const source = m.Source ?? '';
  if (m.Type === 'bind') {
    return {
      point: { Type: 'bind', Source: cleanPath(source), Destination: destination, Mode: '', RW: rw, Propagation: m.BindOptions?.Propagation || DEFAULT_PROPAGATION },
      sourceMustExist: m.BindOptions?.CreateMountpoint !== true,
    };
  }
  if (m.Type === 'volume') {
    const opts = m.VolumeOptions ?? {};
    const driver = opts.DriverConfig?.Name ?? '';
    if (driver !== '' && driver !== LOCAL_DRIVER) throw notFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const labels = opts.Labels ?? undefined;
    const driverOptions = opts.DriverConfig?.Options ?? undefined;
    return {
      point: volumePoint(source, destination, '', rw, opts.NoCopy === true),
      ...(labels || driverOptions ? { volumeOptions: { ...(labels ? { labels } : {}), ...(driverOptions ? { driverOptions } : {}) } } : {}),
    };
  }
  const t = m.TmpfsOptions ?? {};
  const data = [...(rw ? [] : ['ro']), ...(t.Mode ? [`mode=${t.Mode.toString(8)}`] : []), ...(t.SizeBytes ? [tmpfsSize(t.SizeBytes)] : [])];
  return { point: tmpfsPoint(destination, data) };
}

/**
 * tmpfs options moby accepts (mount.MergeTmpfsOptions), minus `bind`/`rbind`/`remount`, which
 * would turn a tmpfs into something else, and `mand`/`nostrictatime`, which the helper lacks.
 * Each maps to the key that makes two options collide (one propagation mode; rw vs ro...).
 */
const TMPFS_FLAG_KEYS: Readonly<Record<string, string>> = {
  ro: 'rdonly', rw: 'rdonly', suid: 'nosuid', nosuid: 'nosuid', dev: 'nodev', nodev: 'nodev', exec: 'noexec', noexec: 'noexec',
  sync: 'sync', async: 'sync', dirsync: 'dirsync', atime: 'noatime', noatime: 'noatime', diratime: 'nodiratime',
  nodiratime: 'nodiratime', relatime: 'relatime', norelatime: 'relatime', strictatime: 'strictatime',
  private: 'propagation', rprivate: 'propagation', shared: 'propagation', rshared: 'propagation', slave: 'propagation',
  rslave: 'propagation', unbindable: 'propagation', runbindable: 'propagation',
};
const TMPFS_DATA_KEYS = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);
/** Docker's defaults for every tmpfs, before the user's options (which win). */
const TMPFS_DEFAULTS = ['noexec', 'nosuid', 'nodev', DEFAULT_PROPAGATION];

/** The defaults and the user's options merged, the last of each kind winning (moby's rule). */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const seen = new Set<string>();
  const merged: string[] = [];
  for (const option of [...options].reverse()) {
    if (option === 'defaults' || option === '') continue;
    const flagKey = TMPFS_FLAG_KEYS[option];
    const eq = option.indexOf('=');
    const key = flagKey !== undefined ? `flag:${flagKey}` : eq > 0 ? `data:${option.slice(0, eq)}` : undefined;
    if (key === undefined || (flagKey === undefined && !TMPFS_DATA_KEYS.has(option.slice(0, eq)))) {
      throw invalid(`invalid tmpfs option "${eq > 0 ? option.slice(0, eq) : option}"`);
    }
    if (seen.has(key)) continue;
    seen.add(key);
    merged.unshift(option);
  }
  return merged;
}

function tmpfsPoint(destination: string, data: readonly string[]): MountPoint {
  const options = mergeTmpfsOptions([...TMPFS_DEFAULTS, ...data]);
  return { Type: 'tmpfs', Source: '', Destination: destination, Mode: '', RW: !options.includes('ro'), Propagation: '', TmpfsOptions: options };
}

/** One `--tmpfs` / HostConfig.Tmpfs entry: destination and its options (`rw,size=64m`). */
export function parseTmpfs(destination: string, data: unknown): MountPoint {
  if (typeof data !== 'string') throw invalid(`HostConfig.Tmpfs["${destination}"]: the options must be a string such as "rw,size=64m"`);
  const problem = destinationError(destination);
  if (problem) throw invalid(problem);
  return tmpfsPoint(cleanPath(destination), data.split(','));
}

/** One `--volumes-from` entry: `container[:ro|:rw]`. */
export function parseVolumesFrom(spec: string): { ref: string; mode: string } {
  if (typeof spec !== 'string' || spec === '') throw invalid('volumes-from specification cannot be an empty string');
  const colon = spec.indexOf(':');
  const ref = colon < 0 ? spec : spec.slice(0, colon);
  const mode = colon < 0 ? '' : spec.slice(colon + 1);
  if (mode === '') return { ref, mode: 'rw' };
  // Propagation and copy modes are the source container's to choose.
  if (!validMode(mode) || modePropagation(mode) || modeParts(mode).includes('nocopy')) throw invalid(`invalid mode: ${mode}`);
  return { ref, mode };
}

/** The volumes and binds of `source` as `--volumes-from` gives them (tmpfs mounts are not shared). */
export function volumesFromPoints(source: ContainerRecord, mode: string): MountPoint[] {
  return (source.MountPoints ?? [])
    .filter((m) => m.Type !== 'tmpfs')
    .map((m) => {
      // moby copies neither the mode string nor the copy-up: the data is already there.
      const { TmpfsOptions: _t, NoCopy: _n, ...rest } = m;
      return { ...rest, Mode: '', RW: m.RW && readWrite(mode), ...(m.Type === 'volume' ? { NoCopy: true } : {}) };
    });
}

/** An image VOLUME (or `-v /path` from the CLI, which it sends as Config.Volumes). */
export function anonymousVolumePoint(destination: string): MountPoint {
  const problem = destinationError(destination);
  if (problem) throw invalid(problem);
  return { ...volumePoint('', cleanPath(destination), '', true, false), Mode: '' };
}

/** Parents before children (moby's sortMounts: fewer path components first), then by path. */
export function parentsFirst<T>(items: readonly T[], destinationOf: (item: T) => string): T[] {
  const depth = (d: string): number => (d.match(/\//g) ?? []).length;
  return [...items].sort((a, b) => {
    const [da, db] = [destinationOf(a), destinationOf(b)];
    return depth(da) - depth(db) || (da < db ? -1 : da > db ? 1 : 0);
  });
}
