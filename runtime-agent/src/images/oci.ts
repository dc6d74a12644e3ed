import { invalid } from '../errors.js';
import { parseDigest, type Digest } from './digest.js';

/**
 * The OCI image layout and Docker's `docker save` metadata, as berthd reads and writes them.
 *
 *   oci-layout                {"imageLayoutVersion": "1.0.0"}
 *   index.json                Index: manifests (or nested indexes), names in annotations
 *   blobs/sha256/<hex>        manifests, configs, layers
 *   manifest.json             docker save: [{Config, RepoTags, Layers, Parent?, LayerSources?}]
 *   repositories              docker save, legacy: {"busybox": {"latest": "<top layer hex>"}}
 */
export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** Full reference of the image a manifest descriptor names (containerd, Docker). */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
/** The OCI name annotation: usually just the tag, sometimes a full reference. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

export interface Platform {
  architecture?: string;
  os?: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface Index {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface DockerManifestItem {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
  Parent?: string;
  LayerSources?: Record<string, Descriptor>;
}

export function isIndexType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerList;
}

export function isManifestType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociManifest || mediaType === MediaTypes.dockerManifest;
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`invalid archive: failed to decode ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`invalid archive: ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

export function parseDescriptor(value: unknown, what: string): Descriptor {
  if (typeof value !== 'object' || value === null) throw invalid(`invalid archive: ${what} is not a descriptor`);
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== 'string') throw invalid(`invalid archive: ${what} has no mediaType`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`invalid archive: ${what} has no valid size`);
  const out: Descriptor = { mediaType: d.mediaType, digest: parseDigest(d.digest, `digest of ${what}`), size: d.size };
  if (typeof d.annotations === 'object' && d.annotations !== null) out.annotations = d.annotations as Record<string, string>;
  if (typeof d.platform === 'object' && d.platform !== null) out.platform = d.platform as Platform;
  return out;
}

export function parseIndex(bytes: Buffer, what: string): Index {
  const raw = parseJson(bytes, what);
  if (!Array.isArray(raw.manifests)) throw invalid(`invalid archive: ${what} has no manifests list`);
  return {
    schemaVersion: Number(raw.schemaVersion),
    manifests: raw.manifests.map((m, i) => parseDescriptor(m, `${what} manifests[${i}]`)),
  };
}

export function parseManifest(bytes: Buffer, what: string): Manifest {
  const raw = parseJson(bytes, what);
  if (!Array.isArray(raw.layers)) throw invalid(`invalid archive: ${what} has no layers list`);
  return {
    schemaVersion: Number(raw.schemaVersion),
    config: parseDescriptor(raw.config, `${what} config`),
    layers: raw.layers.map((l, i) => parseDescriptor(l, `${what} layers[${i}]`)),
  };
}

export function parseDockerManifest(bytes: Buffer): DockerManifestItem[] {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`invalid archive: failed to decode manifest.json: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (value === null) throw invalid('invalid manifest, manifest cannot be null (but can be [])');
  if (!Array.isArray(value)) throw invalid('invalid archive: manifest.json is not a list');
  return value.map((item: unknown, i) => {
    const m = item as Partial<Record<keyof DockerManifestItem, unknown>> | null;
    if (typeof m !== 'object' || m === null || typeof m.Config !== 'string' || !Array.isArray(m.Layers) || !m.Layers.every((l) => typeof l === 'string')) {
      throw invalid(`invalid archive: manifest.json item ${i} needs Config and Layers`);
    }
    const tags = m.RepoTags ?? null;
    if (tags !== null && (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))) {
      throw invalid(`invalid archive: manifest.json item ${i} has invalid RepoTags`);
    }
    const out: DockerManifestItem = { Config: m.Config, RepoTags: tags as string[] | null, Layers: m.Layers as string[] };
    if (typeof m.Parent === 'string' && m.Parent !== '') out.Parent = m.Parent;
    return out;
  });
}
