/**
 * A container's mounts: resolved once at create into `ContainerRecord.MountPoints`, and their
 * volumes mounted around each run.
 *
 *   create  planMounts()        every syntax parsed and checked, bind sources stat'ed; nothing
 *                               is made, so a refusal leaves nothing behind
 *           ensurePlanVolumes() named volumes looked up or created, anonymous ones created;
 *                               a failure removes the anonymous ones it made
 *   start   mountVolumes()      each volume's host path (ContainerVolumes.mount); missing
 *           createBindSources() bind sources made (copy-up.ts fills new volumes)
 *   exit    unmountVolumes()    the counterpart, also after a failed start
 *   rm -v   anonymousVolumes()  what `docker rm -v` and `--rm` remove
 *
 * Precedence is moby's registerMountPoints: `--volumes-from` first, then `-v` and `--mount`
 * (which replace a volumes-from mount at the same destination but not each other: duplicate
 * mount point), `--tmpfs`, and last the image's and the request's Config.Volumes, each an
 * anonymous volume unless something is already mounted there.
 */
import { mkdir, stat } from 'node:fs/promises';
import { errnoCode, invalid, messageOf } from '../errors.js';
import { log } from '../log.js';
import type { ContainerContext } from './context.js';
import type { ContainerRecord, HostConfig, MountPoint } from './model.js';
import {
  anonymousVolumePoint,
  parseBind,
  parseMount,
  parseTmpfs,
  parseVolumesFrom,
  parentsFirst,
  volumesFromPoints,
  type ParsedMount,
} from './mount-parse.js';
import type { ContainerVolumes } from './volumes.js';

/** Validated mounts, by destination; volumes not yet ensured. */
export interface MountPlan {
  readonly mounts: readonly ParsedMount[];
}

export interface MountInputs {
  readonly hostConfig: HostConfig;
  /** Config.Volumes: the image's VOLUMEs and the request's (`-v /path`). */
  readonly configVolumes: Readonly<Record<string, unknown>> | null | undefined;
  readonly findContainer: (ref: string) => ContainerRecord | undefined;
}

const duplicate = (destination: string): Error => invalid(`Duplicate mount point: ${destination}`);

/** What the helper protocol cannot carry (docs/helper-protocol.md), refused at create, not start. */
function assertEncodable(m: MountPoint): void {
  for (const [field, value] of [['destination', m.Destination], ['source', m.Source]] as const) {
    if (/[\0\t\n]/.test(value)) throw invalid(`invalid mount ${field} ${JSON.stringify(value)}: tabs, newlines and NUL bytes are not allowed in paths`);
  }
}

async function assertSourceExists(m: ParsedMount): Promise<void> {
  if (!m.sourceMustExist) return;
  try {
    await stat(m.point.Source);
  } catch (err) {
    const reason = errnoCode(err) === 'ENOENT' ? `bind source path does not exist: ${m.point.Source}` : messageOf(err);
    throw invalid(`invalid mount config for type "bind": ${reason}`);
  }
}

/** Step one of create: parses and checks every mount; throws (400/404) before anything is made. */
export async function planMounts({ hostConfig: hc, configVolumes, findContainer }: MountInputs): Promise<MountPlan> {
  const byDestination = new Map<string, ParsedMount>();
  // Destinations given by -v / --mount / --tmpfs: two of them at one place is an error.
  const claimed = new Set<string>();

  for (const spec of hc.VolumesFrom ?? []) {
    const { ref, mode } = parseVolumesFrom(spec);
    const source = findContainer(ref);
    if (!source) throw invalid(`No such container: ${ref}`);
    for (const point of volumesFromPoints(source, mode)) byDestination.set(point.Destination, { point });
  }
  for (const raw of hc.Binds ?? []) {
    const m = parseBind(raw);
    const dest = m.point.Destination;
    if (claimed.has(dest)) throw duplicate(dest);
    claimed.add(dest);
    byDestination.set(dest, m);
  }
  for (const req of hc.Mounts ?? []) {
    const m = parseMount(req);
    if (claimed.has(m.point.Destination)) throw duplicate(req.Target ?? m.point.Destination);
    await assertSourceExists(m);
    claimed.add(m.point.Destination);
    byDestination.set(m.point.Destination, m);
  }
  for (const [dest, data] of Object.entries(hc.Tmpfs ?? {})) {
    const point = parseTmpfs(dest, data);
    if (claimed.has(point.Destination)) throw duplicate(point.Destination);
    claimed.add(point.Destination);
    byDestination.set(point.Destination, { point });
  }
  for (const dest of Object.keys(configVolumes ?? {})) {
    const point = anonymousVolumePoint(dest);
    if (!byDestination.has(point.Destination)) byDestination.set(point.Destination, { point });
  }
  const mounts = [...byDestination.values()];
  for (const m of mounts) assertEncodable(m.point);
  return { mounts };
}

/** The resolved mounts and the anonymous volumes made for them (to undo a failed create). */
export interface EnsuredMounts {
  readonly points: MountPoint[];
  readonly created: readonly string[];
}

/**
 * Step two: every volume mount gets its volume (named ones created when missing, as Docker
 * does; anonymous ones always new) and its Source; sorted parents first. On a failure the
 * anonymous volumes made here are removed again (named ones stay, as Docker's do).
 */
export async function ensurePlanVolumes(plan: MountPlan, volumes: ContainerVolumes): Promise<EnsuredMounts> {
  const created: string[] = [];
  try {
    const points: MountPoint[] = [];
    for (const m of plan.mounts) {
      const p = m.point;
      // volumes-from copies already carry their volume's name and path.
      if (p.Type !== 'volume' || p.Source !== '') {
        points.push(p);
        continue;
      }
      const v = await volumes.ensure(p.Name, m.volumeOptions);
      if (p.Name === undefined) created.push(v.name);
      points.push({ ...p, Name: v.name, Source: v.mountpoint, Driver: v.driver });
    }
    return { points: parentsFirst(points, (p) => p.Destination), created };
  } catch (err) {
    await removeCreated(volumes, created);
    throw err;
  }
}

/** Undoes ensurePlanVolumes' anonymous volumes (a create that failed after it). */
export async function removeCreated(volumes: ContainerVolumes, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await volumes.removeAnonymous(names).catch((err: unknown) => log.warn('container.volume-cleanup-failed', { volumes: names.join(','), error: messageOf(err) }));
}

/** The names of a container's volume mounts (each once). */
function volumeNames(c: ContainerRecord): string[] {
  return [...new Set((c.MountPoints ?? []).flatMap((m) => (m.Type === 'volume' && m.Name ? [m.Name] : [])))];
}

/** What `docker rm -v` and `--rm` remove: the anonymous volumes (the service keeps shared ones). */
export function anonymousVolumes(c: ContainerRecord): string[] {
  return [...new Set((c.MountPoints ?? []).flatMap((m) => (m.Type === 'volume' && m.Anonymous && m.Name ? [m.Name] : [])))];
}

/** Start: Docker's `-v /host:/dst` makes a missing host directory (root's, 0755) rather than fail. */
export async function createBindSources(c: ContainerRecord): Promise<void> {
  for (const m of c.MountPoints ?? []) {
    if (m.Type !== 'bind') continue;
    const exists = await stat(m.Source).then(() => true, (err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return false;
      throw invalid(`cannot use ${m.Source} as the source of the bind mount on ${m.Destination}: ${messageOf(err)}`);
    });
    if (!exists) await mkdir(m.Source, { recursive: true, mode: 0o755 });
  }
}

/** Start: each volume's host path, by name. A failure unmounts what it mounted. */
export async function mountVolumes(ctx: Pick<ContainerContext, 'volumes'>, c: ContainerRecord): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  try {
    for (const name of volumeNames(c)) paths.set(name, await ctx.volumes.mount(name, c.Id));
  } catch (err) {
    await unmountVolumes(ctx, c, [...paths.keys()]);
    throw err;
  }
  return paths;
}

/** Exit (or a failed start): releases the volumes mountVolumes() mounted; never throws. */
export async function unmountVolumes(ctx: Pick<ContainerContext, 'volumes'>, c: ContainerRecord, names: readonly string[] = volumeNames(c)): Promise<void> {
  for (const name of names) {
    await ctx.volumes.unmount(name, c.Id).catch((err: unknown) => log.warn('container.volume-unmount-failed', { id: c.Id.slice(0, 12), volume: name, error: messageOf(err) }));
  }
}
