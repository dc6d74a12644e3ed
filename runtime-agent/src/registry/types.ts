/**
 * The contract of registry/: berthd's client of the OCI distribution API (docker.io, any
 * registry), used by pull and push (images/) and by `POST /auth` (docker login).
 *
 *   endpoints  docker.io -> https://registry-1.docker.io; other hosts as named. Plain HTTP only
 *              for insecure registries: loopback (127.0.0.0/8, ::1, localhost) by default and
 *              those given by `berthd --insecure-registry host[:port]` (config.ts); for them
 *              HTTPS is tried first, as Docker does.
 *   auth       anonymous, then on 401 the `WWW-Authenticate` challenge: Bearer (token from the
 *              realm with service and scope, using basic credentials or an identity token
 *              when given; tokens cached per scope until expiry) or Basic.
 *   errors     BerthErrors with Docker's wording: 401 -> `unauthorized: authentication
 *              required` (forbidden/invalid as Docker maps them), manifest unknown -> not-found
 *              `manifest for <ref> not found: manifest unknown: ...`, network errors -> system
 *              with the host named.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../images/digest.js';

/** Decoded `X-Registry-Auth` / the body of `POST /auth` (Docker's AuthConfig). */
export interface RegistryCredentials {
  readonly username?: string;
  readonly password?: string;
  readonly auth?: string;
  readonly serveraddress?: string;
  readonly identitytoken?: string;
  readonly registrytoken?: string;
}

/** Where a repository lives: `docker.io` + `library/busybox`, `localhost:5000` + `team/app`. */
export interface RepositoryLocation {
  /** The registry host[:port] as in the reference (`docker.io` for Docker Hub). */
  readonly domain: string;
  /** The path within it (`library/busybox`). */
  readonly path: string;
}

/** One manifest as the registry served it (bytes kept: their digest is the manifest's digest). */
export interface FetchedManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

export interface BlobProgress {
  /** Bytes received or sent so far for this blob. */
  (bytes: number): void;
}

/** One repository's session, with the scopes it was opened for. */
export interface RepositorySession {
  readonly location: RepositoryLocation;
  /** `reference`: a tag or a digest. Accepts Docker v2 manifests and lists, OCI manifests and indexes. */
  getManifest(reference: string): Promise<FetchedManifest>;
  /** PUT; returns the digest the registry computed (Docker-Content-Digest, else our own). */
  putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<Digest>;
  /** HEAD: the blob's size when present, undefined when not. */
  statBlob(digest: Digest): Promise<number | undefined>;
  /** GET, following redirects; the stream verifies nothing (the caller hashes), but a body
   *  shorter than Content-Length fails the stream. Resumes are the caller's retry. */
  fetchBlob(digest: Digest, onProgress?: BlobProgress): Promise<Readable>;
  /** Cross-repository mount (`POST .../blobs/uploads/?mount=&from=`): true when mounted. */
  mountBlob(digest: Digest, fromPath: string): Promise<boolean>;
  /** Upload from a stream (POST, PATCH chunks, PUT ?digest=); the digest is computed while
   *  sending and returned (the caller compares it with the one it expects). */
  uploadBlob(source: Readable, onProgress?: BlobProgress): Promise<{ digest: Digest; size: number }>;
}

export interface RegistryClient {
  /** A session with `actions` on `location` (push implies pull); `mountFrom` adds pull scopes
   *  for cross-repository mounts. */
  open(location: RepositoryLocation, credentials: RegistryCredentials | undefined, actions: readonly ('pull' | 'push')[], mountFrom?: readonly string[]): RepositorySession;
  /** `POST /auth`: checks the credentials against the registry's /v2/ (and its token server);
   *  resolves with an identity token when the registry issues one. 401 -> unauthorized. */
  login(credentials: RegistryCredentials): Promise<{ identityToken?: string }>;
}

/** The platform to pull: linux/amd64 or linux/arm64 (variant v8), the host's by default. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}
