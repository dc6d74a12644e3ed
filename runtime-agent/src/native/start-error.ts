import { constants } from 'node:os';
import { BerthError } from '../errors.js';

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno as Readonly<Record<string, number>>).map(([name, n]) => [n, name]),
);

/** The errno name (`ENOENT`) of an errno number, as the helper reports it. */
export function errnoName(errno: number): string | undefined {
  return errno === 0 ? undefined : ERRNO_NAMES.get(errno);
}

/** Failures of the user's command itself, not of berthd or the kernel (Docker: 400, 126/127). */
const USER_STAGES = new Set(['exec', 'chdir']);
const USER_ERRNOS = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'EISDIR', 'ENOEXEC', 'ELOOP', 'ENAMETOOLONG']);

/**
 * The helper's `error <stage> <errno> <message>`: the container's process could not start.
 * `invalid-parameter` when the user's command or working directory caused it (a missing
 * executable: `exec: "foo": executable file not found in $PATH`), `system` otherwise.
 */
export class ContainerStartError extends BerthError {
  /** Where setup stopped: `exec`, `chdir`, `mount-proc`, `pivot-root`... */
  readonly stage: string;
  /** The errno name of the failed syscall, if one failed. */
  readonly errno: string | undefined;

  constructor(stage: string, errno: number, message: string) {
    const name = errnoName(errno);
    const userCaused = USER_STAGES.has(stage) && name !== undefined && USER_ERRNOS.has(name);
    super(userCaused ? 'invalid-parameter' : 'system', message);
    this.name = 'ContainerStartError';
    this.stage = stage;
    this.errno = name;
  }

  /** Docker's exit code for a container whose command could not start. */
  get exitCode(): number {
    if (this.stage === 'exec' && (this.errno === 'ENOENT' || this.errno === 'ENOTDIR')) return 127;
    if (this.stage === 'exec' && (this.errno === 'EACCES' || this.errno === 'EISDIR' || this.errno === 'ENOEXEC')) return 126;
    return 128;
  }
}
