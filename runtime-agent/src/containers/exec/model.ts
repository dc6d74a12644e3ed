import type { ContainerProcess } from '../../native/helper.js';

/** The body of `POST /containers/{id}/exec`. */
export interface ExecCreateRequest {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

/** One `docker exec`: created, then started once; kept (in memory) until its container goes. */
export interface ExecInstance {
  readonly id: string;
  readonly containerId: string;
  readonly config: ExecCreateRequest & { Cmd: string[] };
  running: boolean;
  /** Set once the process has run and exited. */
  exitCode: number | null;
  pid: number;
  started: boolean;
  process: ContainerProcess | undefined;
}
