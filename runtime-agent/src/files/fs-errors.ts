import { BerthError, conflict, errnoCode, forbidden, invalid, notFound, systemError } from '../errors.js';
import type { Confinement } from './types.js';

/**
 * Turns a failed syscall of files/ into the BerthError the caller sees. `subject` names what the
 * caller asked for in their own words (`"a/b"`, `tar entry "x/y"`): never a host path, so the
 * kernel's message (which holds `/proc/self/fd/...` paths) is kept only as the cause.
 *
 * `during` says which syscall failed, because the same errno means different things: EXDEV from
 * openat2 under RESOLVE_BENEATH is an escape, from rename(2) or link(2) a mount boundary.
 */
export type FailedCall = 'resolve' | 'rename' | 'link' | 'mknod' | 'other';

export function fsError(err: unknown, subject: string, confinement: Confinement, during: FailedCall = 'other'): BerthError {
  if (err instanceof BerthError) return err;
  const code = errnoCode(err);
  switch (code) {
    case 'ENOENT':
      return notFound(`${subject}: no such file or directory`);
    case 'EXDEV':
      if (during === 'rename' || during === 'link') return invalid(`${subject}: cannot ${during} across mount points`, err);
      return forbidden(`${subject} points outside the ${confinement === 'beneath' ? 'volume' : 'container'} (through ".." or a symbolic link)`);
    case 'ELOOP':
      return forbidden(`${subject} passes through a symbolic link that cannot be followed (a loop, or a /proc magic link)`);
    case 'EROFS':
      return forbidden(`${subject}: the file system is read-only`);
    case 'EACCES':
      return forbidden(`${subject}: permission denied`);
    case 'EPERM':
      if (during === 'mknod') return invalid(`${subject}: the kernel does not allow creating device nodes here`, err);
      return forbidden(`${subject}: operation not permitted`);
    case 'ENAMETOOLONG':
      return invalid(`${subject}: file name too long`, err);
    case 'ENOTDIR':
      return invalid(`${subject}: a component of the path is not a directory`, err);
    case 'EISDIR':
      return invalid(`${subject} is a directory`, err);
    case 'EEXIST':
      return conflict(`${subject} already exists`);
    case 'ENOTEMPTY':
      return conflict(`${subject}: the directory is not empty`);
    case 'EBUSY':
      return conflict(`${subject} is in use (a mount point?)`);
    case 'EAGAIN':
      return conflict(`${subject} kept changing while it was looked up: retry`);
    case 'EINVAL':
      return invalid(`${subject}: invalid operation (moving a directory into itself?)`, err);
    case 'EMLINK':
      return invalid(`${subject}: too many links`, err);
    default:
      if (err instanceof TypeError) return invalid(`${subject}: ${err.message}`, err); // NUL bytes...
      return systemError(`${subject}: ${code ?? 'unexpected error'}`, err);
  }
}
