import type Dockerode from 'dockerode';
import type { VolumeSummary } from '../../shared/bridge.js';
import { AppError, InvalidArgument } from '../transport/errors.js';
import { bool, record, stringMap, text } from '../transport/validate.js';
import type { ServiceContext } from './context.js';
import { toVolumeSummary, volumeSizes, volumeUsers, type DfVolume } from './volume-view.js';

/** The local driver's rule (berthd and Docker): two or more of these, starting with a letter or digit. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function parseVolumeName(value: unknown): string | undefined {
  const name = text(value, 'name', { optional: true, max: 255 });
  if (name === undefined) return undefined;
  if (!VOLUME_NAME.test(name)) {
    throw new InvalidArgument(`"${name}" is not a valid volume name: use at least 2 characters from a-z, A-Z, 0-9, _ . -, starting with a letter or digit`);
  }
  return name;
}

function statusOf(err: unknown): number | undefined {
  return err !== null && typeof err === 'object' ? (err as { statusCode?: number }).statusCode : undefined;
}

/**
 * Volume sizes only: `GET /system/df?type=volume` (API 1.42+), so a list does not also walk
 * every container's writable layer (dockerode's df() sends no query). An engine older than
 * 1.42 ignores the type and answers everything, which still carries the volumes.
 */
function volumeUsage(docker: Dockerode): Promise<{ Volumes?: DfVolume[] | null }> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      { path: '/system/df?', method: 'GET', options: { type: 'volume' }, statusCodes: { 200: true, 400: 'bad parameter', 500: 'server error' } },
      (err, data) => (err !== null ? reject(err) : resolve(data as { Volumes?: DfVolume[] | null })),
    );
  });
}

/** volumes:list, volumes:create, volumes:remove. */
export function registerVolumes(ctx: ServiceContext): void {
  const { registry, engine } = ctx;

  /** Every volume with its size (one df of volumes) and the containers that mount it. */
  async function listVolumes(): Promise<VolumeSummary[]> {
    const docker = engine.docker;
    const [volumes, df, containers] = await Promise.all([
      docker.listVolumes(),
      volumeUsage(docker),
      docker.listContainers({ all: true }),
    ]);
    const sizes = volumeSizes(df.Volumes);
    const users = volumeUsers(containers);
    return (volumes.Volumes ?? []).map((v) => toVolumeSummary(v, sizes, users)).sort((a, b) => a.name.localeCompare(b.name));
  }

  registry.handle('volumes:list', listVolumes);

  registry.handle('volumes:create', async (args) => {
    const a = record(args, 'args');
    const name = parseVolumeName(a['name']);
    const labels = stringMap(a['labels'], 'labels');
    const created = await engine.docker.createVolume({ ...(name === undefined ? {} : { Name: name }), Driver: 'local', Labels: labels });
    // New: empty, and no container mounts it yet; one inspect, not a list and df of every volume.
    const info = await created.inspect();
    return toVolumeSummary(info, new Map([[info.Name, 0]]), new Map());
  });

  registry.handle('volumes:remove', async (args) => {
    const a = record(args, 'args');
    const name = text(a['name'], 'name', { max: 255 });
    const force = bool(a['force'], 'force', false);
    const docker = engine.docker;
    try {
      await docker.getVolume(name).remove({ force });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      // Name the containers, so the user knows what to remove first.
      const users = volumeUsers(await docker.listContainers({ all: true, filters: { volume: [name] } })).get(name) ?? [];
      const who = users.length === 0 ? 'a container' : `${users.length === 1 ? 'container' : 'containers'} ${users.join(', ')}`;
      throw new AppError('conflict', `Volume ${name} is in use by ${who}. Remove ${users.length === 1 ? 'it' : 'them'} first, then remove the volume.`, 409, { cause: err });
    }
  });
}
