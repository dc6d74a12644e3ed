import { invalid } from '../errors.js';
import type { SpooledArchive } from './archive.js';
import { hexOf, isDigest, sha256Of, type Digest } from './digest.js';
import { hostArchitecture, parseImageConfig, type ImageConfigJson } from './image-config.js';
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  isIndexType,
  isManifestType,
  parseDockerManifest,
  parseIndex,
  parseManifest,
  type Descriptor,
} from './oci.js';
import { familiarString, parseNormalizedNamed, storeReference, type ImageReference } from './reference.js';

/**
 * Reads an archive's metadata into a plan: which images it holds, their config bytes,
 * where each layer is and what it must hash to, and their names. Every metadata blob is
 * verified against its digest here; layers are verified while they are stored (load.ts).
 *
 * A `docker save` archive is read through manifest.json (it carries RepoTags and Parent);
 * a plain OCI layout through index.json, names from the `io.containerd.image.name`
 * annotation or a full reference in `org.opencontainers.image.ref.name` (a bare tag names
 * no repository, so such an image loads untagged). OCI loads also record
 * `name@<manifest digest>` so `docker images --digests` shows where the image came from.
 */
export interface PlannedLayer {
  readonly diffId: Digest;
  /** Path of the layer file in the archive. */
  readonly path: string;
  /** The digest of the file as stored (compressed or not), when the archive states it. */
  readonly raw?: Digest;
}

export interface PlannedImage {
  readonly id: Digest;
  readonly configBytes: Buffer;
  readonly config: ImageConfigJson;
  readonly layers: readonly PlannedLayer[];
  /** Tags, then digest references. */
  readonly refs: ImageReference[];
  /** manifest.json's Parent (image ID), to be kept only if that image is in the archive. */
  readonly parent?: Digest;
}

export async function planLoad(archive: SpooledArchive): Promise<PlannedImage[]> {
  if (archive.has('manifest.json')) return planDockerSave(archive);
  if (archive.has('index.json')) return planOciLayout(archive);
  throw invalid('invalid archive: does not contain a manifest.json (docker save) or an index.json (OCI layout)');
}

async function planDockerSave(archive: SpooledArchive): Promise<PlannedImage[]> {
  const items = parseDockerManifest(await archive.read('manifest.json'));
  const plans: PlannedImage[] = [];
  for (const item of items) {
    const configBytes = await archive.read(item.Config);
    const id = sha256Of(configBytes);
    const named = digestInPath(item.Config);
    if (named !== undefined && named !== id) throw invalid(`invalid archive: ${item.Config} does not match its digest (got ${id})`);
    const config = parseImageConfig(configBytes, `image config ${item.Config}`);
    const diffIds = config.rootfs.diff_ids;
    if (item.Layers.length !== diffIds.length) {
      throw invalid(`invalid manifest, layers length mismatch: expected ${item.Layers.length}, got ${diffIds.length}`);
    }
    const layers = item.Layers.map((path, i) => layer(diffIds[i] as Digest, path, digestInPath(path)));
    const refs = (item.RepoTags ?? []).map((tag) => {
      const ref = parseNormalizedNamed(tag);
      if (ref.tag === undefined || ref.digest !== undefined) throw invalid(`invalid tag "${tag}"`);
      return ref;
    });
    const parent = item.Parent !== undefined && isDigest(item.Parent) ? item.Parent : undefined;
    plans.push({ id, configBytes, config, layers, refs, ...(parent !== undefined ? { parent } : {}) });
  }
  return plans;
}

async function planOciLayout(archive: SpooledArchive): Promise<PlannedImage[]> {
  const index = parseIndex(await archive.read('index.json'), 'index.json');
  const byId = new Map<Digest, PlannedImage>();
  for (const [i, outer] of index.manifests.entries()) {
    let desc: Descriptor | undefined = outer;
    if (isIndexType(outer.mediaType)) {
      const nested = parseIndex(await readBlob(archive, outer, `index.json manifests[${i}]`), `index ${outer.digest}`);
      desc = pickPlatform(nested.manifests);
    }
    if (desc === undefined || !isManifestType(desc.mediaType)) continue;
    const manifest = parseManifest(await readBlob(archive, desc, `manifest ${desc.digest}`), `manifest ${desc.digest}`);
    const configBytes = await readBlob(archive, manifest.config, `config ${manifest.config.digest}`);
    const config = parseImageConfig(configBytes, `image config ${manifest.config.digest}`);
    const diffIds = config.rootfs.diff_ids;
    if (manifest.layers.length !== diffIds.length) {
      throw invalid(`invalid manifest, layers length mismatch: expected ${manifest.layers.length}, got ${diffIds.length}`);
    }
    const id = manifest.config.digest;
    const plan = byId.get(id) ?? {
      id,
      configBytes,
      config,
      layers: manifest.layers.map((l, n) => layer(diffIds[n] as Digest, blobPath(l.digest), l.digest)),
      refs: [],
    };
    const name = nameOf(outer.annotations ?? {});
    if (name !== undefined) {
      const tagged = storeReference(name);
      const digested: ImageReference = { domain: name.domain, path: name.path, digest: desc.digest };
      for (const ref of [tagged, digested]) {
        if (!plan.refs.some((r) => familiarString(r) === familiarString(ref))) plan.refs.push(ref);
      }
    }
    byId.set(id, plan);
  }
  if (byId.size === 0) throw invalid(`invalid archive: index.json lists no image manifest for linux/${hostArchitecture()}`);
  return [...byId.values()].map((p) => ({ ...p, refs: [...p.refs.filter((r) => r.tag !== undefined), ...p.refs.filter((r) => r.tag === undefined)] }));
}

function layer(diffId: Digest, path: string, raw: Digest | undefined): PlannedLayer {
  return raw === undefined ? { diffId, path } : { diffId, path, raw };
}

/** The name a manifest descriptor gives its image, if it gives a full one. */
function nameOf(annotations: Record<string, string>): ImageReference | undefined {
  const full = annotations[ANNOTATION_IMAGE_NAME];
  if (typeof full === 'string' && full !== '') return parseNormalizedNamed(full);
  const refName = annotations[ANNOTATION_REF_NAME];
  // A bare tag (`latest`, `1.36`) names no repository; `busybox:1.36` or `a/b:t` does.
  if (typeof refName !== 'string' || !/:[\w][\w.-]*$/.test(refName)) return undefined;
  try {
    return parseNormalizedNamed(refName);
  } catch {
    return undefined;
  }
}

function pickPlatform(manifests: readonly Descriptor[]): Descriptor | undefined {
  const arch = hostArchitecture();
  const match = manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch);
  if (match) return match;
  const usable = manifests.filter((m) => m.platform === undefined);
  if (usable.length === 1) return usable[0];
  throw invalid(`no matching manifest for linux/${arch} in the archive`);
}

export function blobPath(digest: Digest): string {
  return `blobs/sha256/${hexOf(digest)}`;
}

/** `blobs/sha256/<hex>` or the legacy `<hex>.json` config name: the digest the name claims. */
function digestInPath(path: string): Digest | undefined {
  const m = /(?:^|\/)blobs\/sha256\/([a-f0-9]{64})$/.exec(path) ?? /^(?:\.\/)?([a-f0-9]{64})\.json$/.exec(path);
  return m ? `sha256:${m[1] as string}` : undefined;
}

async function readBlob(archive: SpooledArchive, desc: Descriptor, what: string): Promise<Buffer> {
  const bytes = await archive.read(blobPath(desc.digest));
  const actual = sha256Of(bytes);
  if (actual !== desc.digest) throw invalid(`invalid archive: ${what}: digest mismatch: expected ${desc.digest}, got ${actual}`);
  if (bytes.length !== desc.size) throw invalid(`invalid archive: ${what}: size mismatch: expected ${desc.size}, got ${bytes.length}`);
  return bytes;
}
