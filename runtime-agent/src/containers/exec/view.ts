import type { ExecInstance } from './model.js';

/** `GET /exec/{id}/json`. */
export function execInspectView(exec: ExecInstance): Record<string, unknown> {
  const [entrypoint, ...args] = exec.config.Cmd;
  return {
    ID: exec.id,
    Running: exec.running,
    ExitCode: exec.exitCode,
    ProcessConfig: {
      tty: exec.config.Tty === true,
      entrypoint,
      arguments: args,
      privileged: exec.config.Privileged === true,
      user: exec.config.User ?? '',
    },
    OpenStdin: exec.config.AttachStdin === true,
    OpenStderr: exec.config.AttachStderr === true,
    OpenStdout: exec.config.AttachStdout === true,
    CanRemove: false,
    ContainerID: exec.containerId,
    DetachKeys: exec.config.DetachKeys ?? '',
    Pid: exec.pid,
  };
}
