import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { BerthError, errnoCode, invalid, messageOf, notFound, systemError } from '../errors.js';
import { HelperChannel } from './channel.js';
import { helperPath } from './paths.js';
import type { ExecSpec, HelperMessage, HoldSpec, ProcessSpec } from './protocol.js';
import { encodeExecSpec, encodeHoldSpec, encodeProcessSpec, MAX_TERMINAL_SIZE } from './spec-encoding.js';
import { ContainerStartError, errnoName } from './start-error.js';

export { ContainerStartError } from './start-error.js';

/** How the container's init ended: `code` is Docker's (128+signal when killed by one). */
export interface ExitStatus {
  readonly code: number;
  /** The signal that killed it, 0 when it exited by itself. */
  readonly signal: number;
}

/**
 * A running process started by the helper (which stays as its shim, `berth-shim`): a
 * container's init (`startContainerProcess`) or a process exec'd into a running container
 * (`startExecProcess`).
 */
export interface ContainerProcess {
  /** The process's PID on the host. */
  readonly pid: number;
  /**
   * Its stdin when started with `stdin: 'pipe'`; ending it gives the process EOF. With a TTY it
   * feeds the terminal, and ending it leaves the terminal open until the process exits (the
   * process sees EOF only from a ^D typed into it), as Docker does.
   */
  readonly stdin: Writable | null;
  /** Its output; each ends on its own once the process and its children are gone. With a TTY,
   *  stdout carries the terminal (`\r\n` line ends) and stderr ends at once, empty. */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Settles once the process has exited and the helper is reaped; never rejects. */
  readonly exited: Promise<ExitStatus>;
  /** Sends a signal to the process (ESRCH ignored; a no-op once it has exited). */
  kill(signal: NodeJS.Signals | number): void;
  /**
   * Sets the terminal's size (the process gets SIGWINCH). `rows` and `cols` are integers from 1
   * to 65535 (else an `invalid-parameter` BerthError); a no-op without a TTY or after the exit.
   */
  resize(rows: number, cols: number): void;
}

export interface StartOptions {
  readonly stdin: 'pipe' | 'ignore';
  /** Called with the process's host PID while it waits: join it to its cgroup (and, for a
   *  container's init, wire its network). */
  readonly onPid: (pid: number) => Promise<void>;
}

/** The exit status assumed when the helper dies without reporting one: its death SIGKILLs the init. */
const KILLED: ExitStatus = { code: 137, signal: 9 };

/**
 * Starts a container's first process through `berth-helper run` (docs/helper-protocol.md):
 * spec → `pid` → onPid → `go` → `started` | `error`. On failure (the helper's `error`, onPid
 * throwing, the helper dying) rejects — a ContainerStartError for the helper's own reports —
 * after the helper and the half-made container are gone: closing fd 3 makes the helper SIGKILL
 * its child, and this waits until the helper itself is reaped.
 */
export async function startContainerProcess(spec: ProcessSpec, opts: StartOptions): Promise<ContainerProcess> {
  return startHelper({ mode: 'run', payload: encodeProcessSpec(spec), tty: spec.tty, what: "the container's process" }, opts);
}

/**
 * Starts a process inside a running container (`docker exec`) through `berth-helper exec`: it
 * joins the namespaces of `spec.containerPid`; `onPid` gets the new process's host PID to put
 * it in the container's cgroup before it joins the mount namespace and execs. Same protocol,
 * failures and result as startContainerProcess; a container whose process is gone fails at
 * stage `namespaces` (`the container's process N is not running`).
 */
export async function startExecProcess(spec: ExecSpec, opts: StartOptions): Promise<ContainerProcess> {
  return startHelper({ mode: 'exec', payload: encodeExecSpec(spec), tty: spec.tty, what: 'the exec process' }, opts);
}

function cannotRun(spawnError: Error): BerthError {
  const hint = errnoCode(spawnError) === 'ENOENT' ? ': run npm install to build it' : '';
  return systemError(`cannot run ${helperPath}: ${spawnError.message}${hint}`, spawnError);
}

interface HelperStart {
  readonly mode: 'run' | 'exec';
  readonly payload: Buffer;
  readonly tty: boolean;
  /** For wrapped errors: "starting <what>: ...". */
  readonly what: string;
}

function terminalSize(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_TERMINAL_SIZE) {
    throw invalid(`resize: ${name} must be an integer from 1 to ${MAX_TERMINAL_SIZE}, received ${value}`);
  }
}

async function startHelper(start: HelperStart, opts: StartOptions): Promise<ContainerProcess> {
  const helper = spawn(helperPath, [start.mode], { stdio: [opts.stdin, 'pipe', 'pipe', 'pipe'] });
  let spawnError: Error | undefined;
  const helperGone = new Promise<void>((resolve) => {
    helper.once('exit', () => resolve());
    helper.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  const { stdout, stderr } = helper;
  const control = helper.stdio[3] as Socket | null;
  if (!stdout || !stderr || !control) throw systemError('berth-helper was spawned without its pipes');
  control.on('error', () => undefined); // EPIPE and the like: the channel sees the end
  helper.stdin?.on('error', () => undefined);
  const channel = new HelperChannel(control);

  let pid: number;
  try {
    control.write(start.payload);
    const first = await channel.expect('pid', 'error');
    if (first.type === 'error') throw new ContainerStartError(first.stage, first.errno, first.message);
    pid = first.pid;
    await opts.onPid(pid);
    control.write('go\n');
    const second = await channel.expect('started', 'error');
    if (second.type === 'error') throw new ContainerStartError(second.stage, second.errno, second.message);
  } catch (err) {
    control.destroy(); // the helper SIGKILLs its child, reaps it, exits
    helper.stdin?.destroy();
    stdout.destroy();
    stderr.destroy();
    await helperGone;
    if (spawnError) throw cannotRun(spawnError);
    throw err instanceof BerthError ? err : systemError(`starting ${start.what}: ${messageOf(err)}`, err);
  }

  let finished = false;
  const exited = (async (): Promise<ExitStatus> => {
    let status = KILLED;
    try {
      const m = await channel.expect('exit');
      status = { code: m.code, signal: m.signal };
    } catch {
      // The helper died without a word (SIGKILLed?): its death took its child with it.
    }
    finished = true;
    await helperGone;
    return status;
  })();

  return {
    pid,
    stdin: helper.stdin,
    stdout,
    stderr,
    exited,
    kill(signal: NodeJS.Signals | number): void {
      if (finished) return; // the PID may belong to someone else by now
      try {
        process.kill(pid, signal);
      } catch (err) {
        if (errnoCode(err) !== 'ESRCH') throw err;
      }
    },
    resize(rows: number, cols: number): void {
      terminalSize('rows', rows);
      terminalSize('cols', cols);
      if (!start.tty || finished || control.destroyed || !control.writable) return;
      control.write(`resize ${rows} ${cols}\n`);
    },
  };
}

/**
 * A container's filesystem held mounted by `berth-helper hold` (`berth-hold <target>` in ps),
 * in a mount namespace of its own: read and write it through `root`; nothing is mounted in
 * berthd's namespace. The caller must `release()` it (in a `finally`): until then a process and
 * its mounts live on, and with a writable overlay the container's upper dir is in use (its start
 * must wait). If berthd dies, every hold ends with it (fd 3 closes).
 */
export interface FilesystemHold {
  /** The hold process's host PID. */
  readonly pid: number;
  /** `/proc/<pid>/root`: the container's `/` with its volumes and binds mounted. Valid until release. */
  readonly root: string;
  /** Closes fd 3 and resolves once the process has exited and been reaped, its mounts gone
   *  with its namespace. Idempotent (every call returns the same promise); never rejects. */
  release(): Promise<void>;
}

/**
 * Mounts a container's filesystem through `berth-helper hold` (docs/helper-protocol.md): spec →
 * `ready` | `error`. Rejects with an `invalid-parameter` BerthError for a spec that cannot be
 * encoded (nothing is spawned), `not-found` for a missing bind source, `system` for anything
 * else; the helper is reaped before it rejects.
 */
export async function holdFilesystem(spec: HoldSpec): Promise<FilesystemHold> {
  const payload = encodeHoldSpec(spec);
  // The target on the command line only names the process (`berth-hold <target>`) for ps and leak checks.
  const helper = spawn(helperPath, ['hold', spec.rootfs.target], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  let spawnError: Error | undefined;
  const helperGone = new Promise<void>((resolve) => {
    helper.once('exit', () => resolve());
    helper.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  const control = helper.stdio[3] as Socket | null;
  const endHold = async (): Promise<void> => {
    if (control) control.destroy(); // EOF on fd 3: the helper exits
    else helper.kill('SIGKILL');
    await helperGone;
  };

  let pid: number | undefined;
  try {
    if (!control) throw systemError('berth-helper was spawned without its control channel');
    control.on('error', () => undefined); // EPIPE and the like: the channel sees the end
    const channel = new HelperChannel(control);
    control.write(payload);
    const reply = await channel.expect('ready', 'error');
    if (reply.type === 'error') throw holdError(spec, reply);
    pid = helper.pid;
    if (pid === undefined) throw systemError('berth-helper hold said ready without a PID');
  } catch (err) {
    await endHold();
    if (spawnError) throw cannotRun(spawnError);
    throw err instanceof BerthError ? err : systemError(`holding ${spec.rootfs.target}: ${messageOf(err)}`, err);
  }

  let released: Promise<void> | undefined;
  return {
    pid,
    root: `/proc/${pid}/root`,
    release: () => (released ??= endHold()),
  };
}

function holdError(spec: HoldSpec, m: Extract<HelperMessage, { type: 'error' }>): BerthError {
  if (m.stage === 'mount-source' && errnoName(m.errno) === 'ENOENT') return notFound(m.message);
  return systemError(`cannot mount the filesystem at ${spec.rootfs.target} (${m.stage}): ${m.message}`);
}
