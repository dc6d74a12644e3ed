import { randomBytes } from 'node:crypto';
import { invalid } from '../errors.js';

/** moby's RestrictedNamePattern: what a local volume may be called. */
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Docker's checks and messages, prefixed with the operation (`create x: ...`) as moby's OpErr. */
export function validateVolumeName(name: string): void {
  if (name.length === 1) {
    throw invalid(`create ${name}: volume name is too short, names should be at least two alphanumeric characters`);
  }
  if (!NAME_PATTERN.test(name)) {
    throw invalid(
      `create ${name}: ${JSON.stringify(name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
  // NAME_MAX: the name is a directory under volumes/.
  if (Buffer.byteLength(name) > 255) throw invalid(`create ${name.slice(0, 32)}...: volume name is too long (at most 255 characters)`);
}

/** A new anonymous volume's name: 64 hex characters, as Docker's. */
export function newVolumeName(): string {
  return randomBytes(32).toString('hex');
}
