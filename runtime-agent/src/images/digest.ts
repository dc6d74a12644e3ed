import { createHash } from 'node:crypto';
import { invalid } from '../errors.js';

/**
 * Content digests as the OCI image spec writes them: `sha256:<64 lowercase hex>`. berthd
 * stores and verifies sha256 only; other algorithms are refused when they are parsed.
 */
export type Digest = `sha256:${string}`;

const SHA256 = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigest(value: string): value is Digest {
  return SHA256.test(value);
}

/** Validates a digest from untrusted input; `what` names it in the error. */
export function parseDigest(value: unknown, what = 'digest'): Digest {
  if (typeof value !== 'string') throw invalid(`invalid ${what}: expected a digest string`);
  if (isDigest(value)) return value;
  if (ANY_DIGEST.test(value) && !value.startsWith('sha256:')) {
    throw invalid(`invalid ${what} "${value}": unsupported digest algorithm`);
  }
  if (value.startsWith('sha256:')) throw invalid(`invalid ${what} "${value}": invalid checksum digest length`);
  throw invalid(`invalid ${what} "${value}": invalid checksum digest format`);
}

/** The hex part of a digest (`sha256:ab..` → `ab..`), as used in file names. */
export function hexOf(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export function sha256Of(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Chain IDs of a layer stack, bottom first: chain(L0) = diff(L0);
 * chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)) (OCI image spec, "ChainID").
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diff of diffIds) {
    const below = out[out.length - 1];
    out.push(below === undefined ? diff : sha256Of(`${below} ${diff}`));
  }
  return out;
}

/** Docker's short ID: the first 12 hex characters, without the algorithm. */
export function shortId(id: string): string {
  const colon = id.indexOf(':');
  return (colon >= 0 ? id.slice(colon + 1) : id).slice(0, 12);
}
