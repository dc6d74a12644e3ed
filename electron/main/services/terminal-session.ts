import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { AppError } from '../transport/errors.js';
import type { Client } from '../transport/registry.js';

/** What a re-attached view gets back: enough for a screen and some history. */
export const SCROLLBACK_CHARS = 256 * 1024;

/** Finds the best shell: bash when the image has it, else sh (busybox, alpine). */
const FIND_SHELL = 'command -v bash 2>/dev/null || command -v sh 2>/dev/null';

async function findShell(container: Dockerode.Container): Promise<string> {
  const probe = await container.exec({ Cmd: ['sh', '-c', FIND_SHELL], AttachStdout: true, AttachStderr: true });
  const stream = await probe.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  const raw = Buffer.concat(chunks);
  // Multiplexed: strip the 8-byte frame headers of stdout frames.
  let out = '';
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    if (raw[at] === 1) out += raw.subarray(at + 8, at + 8 + size).toString('utf8');
    at += 8 + size;
  }
  const shell = out.split('\n').map((l) => l.trim()).find((l) => /^[\w./+-]+$/.test(l)); // busybox answers a bare "sh"
  if (shell === undefined) throw new AppError('invalid-argument', 'This container has no shell (neither bash nor sh), so a terminal cannot open in it.', 400);
  return shell;
}

/**
 * Ends what a session runs. Docker has no "kill exec", and closing the attach connection
 * leaves a TTY exec's shell running, so each session's processes carry a marker in their
 * environment (inherited by everything started from the shell) and closing hangs up every
 * process that has it: SIGHUP, then SIGKILL for any that ignore it.
 */
const HANG_UP = `
m="$1"
pids() { for e in /proc/[0-9]*/environ; do p=\${e#/proc/}; p=\${p%/environ}; [ "$p" = "$$" ] && continue
  tr '\\0' '\\n' < "$e" 2>/dev/null | grep -qx "$m" && echo "$p"; done; }
l=$(pids); [ -z "$l" ] && exit 0; kill -HUP $l 2>/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.1; l=$(pids); [ -z "$l" ] && exit 0; done
kill -KILL $l 2>/dev/null; exit 0`;

async function hangUp(container: Dockerode.Container, shell: string, marker: string): Promise<void> {
  const exec = await container.exec({ Cmd: [shell, '-c', HANG_UP, 'hang-up', marker], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  stream.resume();
  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

/**
 * One terminal: an exec with a TTY in a container, living in the main process so it outlives
 * the view that shows it. Output goes to the client that attached last and into a bounded
 * scrollback, so a view mounted again can redraw what was there.
 */
export class TerminalSession {
  #scrollback = '';
  #exited = false;
  #exitCode: number | null = null;
  readonly #decoder = new StringDecoder('utf8');

  private constructor(
    readonly id: string,
    readonly shell: string,
    private readonly container: Dockerode.Container,
    private readonly marker: string,
    private readonly exec: Dockerode.Exec,
    private readonly stream: Duplex,
    public owner: Client,
  ) {
    stream.on('data', (chunk: Buffer) => this.#output(this.#decoder.write(chunk)));
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      void this.#finish();
    };
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
  }

  static async open(opts: { id: string; docker: Dockerode; containerId: string; cols: number; rows: number; owner: Client }): Promise<TerminalSession> {
    const container = opts.docker.getContainer(opts.containerId);
    const shell = await findShell(container);
    const marker = `BERTH_TERMINAL=${randomBytes(12).toString('hex')}`;
    const exec = await container.exec({
      Cmd: [shell],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      Env: ['TERM=xterm-256color', 'COLORTERM=truecolor', marker],
    });
    const stream = await exec.start({ hijack: true, stdin: true, Tty: true, ConsoleSize: [opts.rows, opts.cols] } as Dockerode.ExecStartOptions);
    const session = new TerminalSession(opts.id, shell, container, marker, exec, stream, opts.owner);
    await session.resize(opts.cols, opts.rows).catch(() => undefined);
    return session;
  }

  get exited(): boolean {
    return this.#exited;
  }

  get exitCode(): number | null {
    return this.#exitCode;
  }

  get scrollback(): string {
    return this.#scrollback;
  }

  /** Moves the output to `client` (the view that attached last) and answers the scrollback. */
  attach(client: Client): { scrollback: string; exited: boolean } {
    this.owner = client;
    return { scrollback: this.#scrollback, exited: this.#exited };
  }

  input(data: string): void {
    if (!this.#exited && !this.stream.destroyed) this.stream.write(data);
  }

  async resize(cols: number, rows: number): Promise<void> {
    if (this.#exited) return;
    await this.exec.resize({ h: rows, w: cols });
  }

  /** Ends the session: hangs up its processes (see HANG_UP), then drops the connection. */
  close(): Promise<void> {
    const done = this.#exited ? Promise.resolve() : hangUp(this.container, this.shell, this.marker).catch(() => undefined);
    return done.finally(() => this.stream.destroy());
  }

  #output(data: string): void {
    if (data === '') return;
    this.#scrollback += data;
    if (this.#scrollback.length > SCROLLBACK_CHARS * 1.25) {
      // Cut at a line start so the redraw does not begin inside an escape sequence.
      const cut = this.#scrollback.length - SCROLLBACK_CHARS;
      const nl = this.#scrollback.indexOf('\n', cut);
      this.#scrollback = this.#scrollback.slice(nl >= 0 && nl - cut < 4096 ? nl + 1 : cut);
    }
    if (!this.owner.closed) this.owner.emit('terminal:output', { session: this.id, data });
  }

  async #finish(): Promise<void> {
    this.#output(this.#decoder.end());
    let code: number | null = null;
    try {
      const info = await this.exec.inspect();
      code = typeof info.ExitCode === 'number' ? info.ExitCode : null;
    } catch {
      // the container went away with it
    }
    this.#exited = true;
    this.#exitCode = code;
    if (!this.owner.closed) this.owner.emit('terminal:exit', { session: this.id, exitCode: code });
  }
}
