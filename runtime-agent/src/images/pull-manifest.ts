import { invalid, messageOf, notImplemented } from '../errors.js';
import type { FetchedManifest, Platform, RepositorySession } from '../registry/types.js';
import { sha256Of, type Digest } from './digest.js';
import { isIndexType, isManifestType, MediaTypes, parseIndex, parseManifest, type Manifest } from './oci.js';
import { formatPlatform, selectManifest } from './platform.js';
import { familiarString, refString, type ImageReference } from './reference.js';

/**
 * The manifest half of a pull: what a tag or digest names in the registry, down to one image
 * manifest. A Docker manifest list or OCI index is resolved to the entry for the wanted
 * platform (platform.ts); Docker v2 schema 2 and OCI manifests are accepted; schema 1 is
 * refused as Docker 28 refuses it. Every manifest fetched by digest is checked against it.
 */
export interface ResolvedManifest {
  /** What `Digest:` prints and RepoDigests records: the list's digest when a list was named. */
  readonly repoDigest: Digest;
  readonly manifest: Manifest;
  /** The image manifest's own digest (equal to repoDigest for a plain manifest). */
  readonly manifestDigest: Digest;
  /** Whether the reference named a list (so the platform was chosen from it). */
  readonly fromList: boolean;
}

const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

/** Config media types an image may have (moby's defaultImageTypes); others are not images. */
const IMAGE_CONFIG_TYPES = new Set([MediaTypes.ociConfig, 'application/vnd.docker.container.image.v1+json', 'application/octet-stream']);
const CONFIG_CLASSES: Readonly<Record<string, string>> = {
  'application/vnd.cncf.helm.config.v1+json': 'helm',
  'application/vnd.docker.plugin.v1+json': 'plugin',
  'application/vnd.in-toto+json': 'attestation',
};

/** Fetches what `ref` names (its digest when it has one, else its tag), verifying a digest. */
export async function fetchNamedManifest(session: RepositorySession, ref: ImageReference): Promise<FetchedManifest> {
  const fetched = await session.getManifest(ref.digest ?? ref.tag ?? 'latest');
  if (ref.digest !== undefined) verifyManifest(fetched, ref.digest);
  const kind = kindOf(fetched);
  if (kind === 'schema1') {
    throw invalid(
      'Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. ' +
        `Suggest the author of ${refString(ref)} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. ` +
        'More information at https://docs.docker.com/go/deprecated-image-specs/',
    );
  }
  if (kind === 'unknown') throw invalid(`unsupported manifest format for ${familiarString(ref)}: ${fetched.mediaType || 'no media type'}`);
  return fetched;
}

/** Resolves a fetched manifest (a list is followed to the `platform` entry) to an image manifest. */
export async function resolveManifest(session: RepositorySession, top: FetchedManifest, ref: ImageReference, platform: Platform): Promise<ResolvedManifest> {
  const repoDigest = ref.digest ?? sha256Of(top.bytes);
  if (kindOf(top) === 'manifest') {
    return { repoDigest, manifestDigest: repoDigest, manifest: parseImageManifest(top, repoDigest), fromList: false };
  }
  const index = parseRemote(() => parseIndex(top.bytes, 'manifest list'), repoDigest);
  const entry = selectManifest(index.manifests, platform);
  if (entry === undefined) throw invalid(`no matching manifest for ${formatPlatform(platform)} in the manifest list entries`);
  const child = await session.getManifest(entry.digest);
  verifyManifest(child, entry.digest);
  if (kindOf(child) !== 'manifest') {
    throw invalid(`manifest ${entry.digest} for ${formatPlatform(platform)} in ${familiarString(ref)} is not an image manifest (${child.mediaType})`);
  }
  return { repoDigest, manifestDigest: entry.digest, manifest: parseImageManifest(child, entry.digest), fromList: true };
}

function parseImageManifest(fetched: FetchedManifest, digest: Digest): Manifest {
  const manifest = parseRemote(() => parseManifest(fetched.bytes, 'manifest'), digest);
  const configType = manifest.config.mediaType;
  if (!IMAGE_CONFIG_TYPES.has(configType)) {
    throw invalid(`Encountered remote "${configType}"(${CONFIG_CLASSES[configType] ?? 'unknown'}) when fetching`);
  }
  for (const layer of manifest.layers) checkLayerType(layer.mediaType, layer.digest);
  return manifest;
}

/** gzip and plain tars are read; zstd (and anything else) is refused before any download. */
function checkLayerType(mediaType: string, digest: Digest): void {
  const type = mediaType.toLowerCase();
  if (type.endsWith('+zstd') || type.endsWith('.zstd')) {
    throw notImplemented(`layer ${digest} is compressed with zstd (${mediaType}), which berthd cannot read yet: push the image with gzip layers`);
  }
  const known = /^application\/vnd\.(?:oci\.image\.layer\.(?:nondistributable\.)?v1\.tar(?:\+gzip)?|docker\.image\.rootfs\.(?:foreign\.)?diff\.tar(?:\.gzip)?)$/;
  if (!known.test(type)) throw invalid(`unsupported media type ${mediaType} for layer ${digest}`);
}

type ManifestKind = 'index' | 'manifest' | 'schema1' | 'unknown';

/** By the Content-Type the registry sent, else by the document's own mediaType / shape. */
function kindOf(fetched: FetchedManifest): ManifestKind {
  const byType = kindOfType(fetched.mediaType);
  if (byType !== 'unknown') return byType;
  let doc: unknown;
  try {
    doc = JSON.parse(fetched.bytes.toString('utf8'));
  } catch {
    return 'unknown';
  }
  if (typeof doc !== 'object' || doc === null) return 'unknown';
  const d = doc as Record<string, unknown>;
  if (typeof d.mediaType === 'string' && kindOfType(d.mediaType) !== 'unknown') return kindOfType(d.mediaType);
  if (d.schemaVersion === 1) return 'schema1';
  if (Array.isArray(d.manifests)) return 'index';
  if (Array.isArray(d.layers) && typeof d.config === 'object') return 'manifest';
  return 'unknown';
}

function kindOfType(mediaType: string): ManifestKind {
  const type = mediaType.split(';')[0]?.trim() ?? '';
  if (isIndexType(type)) return 'index';
  if (isManifestType(type)) return 'manifest';
  if (SCHEMA1_TYPES.has(type)) return 'schema1';
  return 'unknown';
}

function verifyManifest(fetched: FetchedManifest, digest: Digest): void {
  if (sha256Of(fetched.bytes) !== digest) throw invalid(`manifest verification failed for digest ${digest}`);
}

/** oci.ts words its errors for archives; a registry's manifest is named instead. */
function parseRemote<T>(parse: () => T, digest: Digest): T {
  try {
    return parse();
  } catch (err) {
    throw invalid(`invalid manifest ${digest}: ${messageOf(err).replace(/^invalid archive: /, '')}`);
  }
}
