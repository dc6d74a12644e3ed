import type { ImageStore, StoredImage } from './image-store.js';
import type { ImageRuntimeConfig } from './types.js';

/**
 * GET /images/{name}/json: Docker's ImageInspect for API 1.43 — Config and ContainerConfig
 * in the full container-config shape of that API version (zero fields present),
 * VirtualSize = Size, Created "0001-01-01T00:00:00Z" when the config has none, and
 * GraphDriver overlay2 with the layer dirs berthd stacks (UpperDir the top layer, LowerDir
 * the others top-first, as Docker reports an image).
 */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export function inspectImage(store: ImageStore, image: StoredImage): Record<string, unknown> {
  const { config, record } = image;
  const img = store.toImage(image);
  const size = store.size(image);
  const history = config.history ?? [];
  const dirs = image.chainIds.map((c) => store.layers.dir(c)).reverse();
  const graph: Record<string, string> = {};
  if (dirs.length > 0) graph.UpperDir = dirs[0] as string;
  if (dirs.length > 1) graph.LowerDir = dirs.slice(1).join(':');
  const out: Record<string, unknown> = {
    Id: image.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Parent: record.parent ?? '',
    Comment: config.comment ?? history[history.length - 1]?.comment ?? '',
    Created: config.created ?? ZERO_TIME,
    Container: config.container ?? '',
    ContainerConfig: containerConfig(config.container_config),
    DockerVersion: config.docker_version ?? '',
    Author: config.author ?? '',
    Config: containerConfig(config.config),
    Architecture: img.architecture,
  };
  if (config.variant !== undefined && config.variant !== '') out.Variant = config.variant;
  out.Os = img.os;
  if (config['os.version'] !== undefined && config['os.version'] !== '') out.OsVersion = config['os.version'];
  Object.assign(out, {
    Size: size,
    VirtualSize: size,
    GraphDriver: { Name: 'overlay2', Data: graph },
    RootFS: { Type: 'layers', Layers: [...config.rootfs.diff_ids] },
    Metadata: { LastTagTime: record.lastTagTime ?? ZERO_TIME },
  });
  return out;
}

/** The image's runtime config in the full shape API 1.43 sends (Docker's container.Config). */
export function containerConfig(config: ImageRuntimeConfig | undefined | null): Record<string, unknown> {
  const c = config ?? {};
  const out: Record<string, unknown> = {
    Hostname: '',
    Domainname: '',
    User: c.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
  };
  if (c.ExposedPorts) out.ExposedPorts = c.ExposedPorts;
  Object.assign(out, { Tty: false, OpenStdin: false, StdinOnce: false, Env: c.Env ?? null, Cmd: c.Cmd ?? null });
  if (c.Healthcheck) out.Healthcheck = c.Healthcheck;
  Object.assign(out, {
    Image: '',
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null,
    Labels: c.Labels ?? null,
  });
  if (c.StopSignal !== undefined && c.StopSignal !== '') out.StopSignal = c.StopSignal;
  if (c.Shell) out.Shell = c.Shell;
  return out;
}
