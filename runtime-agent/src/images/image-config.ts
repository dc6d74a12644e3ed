import { invalid } from '../errors.js';
import { parseDigest, type Digest } from './digest.js';
import type { ImageRuntimeConfig } from './types.js';

/**
 * The image config blob (OCI image-spec `config.json`, Docker's image JSON). Its sha256 is
 * the image ID, so the bytes are stored exactly as received and never re-serialised; this
 * type is the parsed view. Docker-only fields (container, container_config,
 * docker_version) appear in images Docker built.
 */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfigJson {
  architecture?: string;
  os?: string;
  variant?: string;
  'os.version'?: string;
  created?: string;
  author?: string;
  comment?: string;
  config?: ImageRuntimeConfig;
  container?: string;
  container_config?: ImageRuntimeConfig;
  docker_version?: string;
  rootfs: { type: string; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

/** Node's architecture names → Go's (what image configs use). */
export function hostArchitecture(): string {
  const map: Partial<Record<string, string>> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

/** Parses and checks an image config from untrusted bytes; `what` names it in errors. */
export function parseImageConfig(bytes: Buffer, what = 'image config'): ImageConfigJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`invalid ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(`invalid ${what}: not a JSON object`);
  const config = parsed as Record<string, unknown>;
  const rootfs = config.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
  if (typeof rootfs !== 'object' || rootfs === null || rootfs.type !== 'layers') {
    throw invalid(`invalid ${what}: rootfs.type must be "layers"`);
  }
  const diffIds = rootfs.diff_ids ?? [];
  if (!Array.isArray(diffIds)) throw invalid(`invalid ${what}: rootfs.diff_ids must be a list`);
  diffIds.forEach((d) => parseDigest(d, `diff ID in ${what}`));
  if (config.os !== undefined && config.os !== '' && config.os !== 'linux') {
    throw invalid(`cannot load ${String(config.os)} image on linux`);
  }
  for (const key of ['config', 'container_config'] as const) {
    const v = config[key];
    if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) throw invalid(`invalid ${what}: ${key} must be an object`);
  }
  if (config.history !== undefined && config.history !== null && !Array.isArray(config.history)) {
    throw invalid(`invalid ${what}: history must be a list`);
  }
  return { ...(config as unknown as ImageConfigJson), rootfs: { type: 'layers', diff_ids: diffIds as Digest[] } };
}

/** Unix seconds of an RFC 3339 time; 0 when absent or unparsable (as Docker shows it). */
export function unixSeconds(time: string | undefined): number {
  if (time === undefined) return 0;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}
