import type { HijackedStream } from '../api/router.js';
import { boolParam } from '../api/query.js';
import { muxFrame, MUX_CONTENT_TYPE, RAW_CONTENT_TYPE } from '../api/stream.js';
import type { ContainerRecord } from './model.js';
import type { OutputHub, OutputStream } from './output.js';
import { logFiles, rotationOptions } from './logs/json-file.js';
import { readLogEntries } from './logs/read.js';
import { DetachKeyFilter, parseDetachKeys } from './detach-keys.js';

export interface AttachSource {
  /**
   * Calls `subscribe` with the hub of the current run, or synchronously when the next start
   * makes one (so no output is missed). Returns a function that cancels the wait.
   */
  whenHub(c: ContainerRecord, subscribe: (hub: OutputHub) => void): () => void;
  logPath(c: ContainerRecord): string;
  /** Told when an attach session ends, by detaching or because the output ended. */
  attached?(c: ContainerRecord, how: 'detach' | 'end'): void;
}

/**
 * `POST /containers/{id}/attach`: streams the container's output (multiplexed without a
 * TTY) and feeds the client's input to its stdin. Attaching before start (as `docker run`
 * does) waits for the start. Ends when the process's output ends or the client leaves.
 */
export async function attachContainer(source: AttachSource, c: ContainerRecord, s: HijackedStream): Promise<void> {
  const wantStdin = boolParam(s.query, 'stdin');
  const wantStdout = boolParam(s.query, 'stdout');
  const wantStderr = boolParam(s.query, 'stderr');
  const replayLogs = boolParam(s.query, 'logs');
  const live = boolParam(s.query, 'stream');
  const tty = c.Config.Tty === true;
  const keys = parseDetachKeys(s.query.get('detachKeys'));
  s.begin(tty ? RAW_CONTENT_TYPE : MUX_CONTENT_TYPE);

  const write = (stream: OutputStream, chunk: Buffer): void => {
    if (stream === 'stdout' ? !wantStdout : !wantStderr) return;
    s.output.write(tty ? chunk : muxFrame(stream === 'stdout' ? 1 : 2, chunk));
  };

  if (replayLogs) {
    const files = logFiles(source.logPath(c), rotationOptions(c.HostConfig.LogConfig).maxFiles);
    const entries = await readLogEntries(files, { stdout: wantStdout, stderr: wantStderr, since: undefined, until: undefined, tail: undefined });
    for (const e of entries) write(e.stream, Buffer.from(e.log));
  }
  if (!live) {
    s.finish();
    return;
  }

  const onData = (stream: OutputStream, chunk: Buffer): void => write(stream, chunk);
  const hub = await new Promise<OutputHub | undefined>((resolve) => {
    const cancel = source.whenHub(c, (h) => {
      h.on('data', onData);
      resolve(h);
    });
    void s.closed.then(() => {
      cancel();
      resolve(undefined);
    });
  });
  if (!hub) return;
  let detached = false;
  const detachedNow = new Promise<void>((resolve) => {
    if (!wantStdin || !hub.stdin) return;
    const stdin = hub.stdin;
    const filter = new DetachKeyFilter(keys);
    s.input.on('data', (chunk: Buffer) => {
      if (detached) return;
      const { pass, detach } = filter.feed(chunk);
      if (pass.length > 0 && !stdin.destroyed) stdin.write(pass);
      if (detach) {
        // ctrl-p ctrl-q: the client leaves, the container keeps running with its stdin open.
        detached = true;
        resolve();
      }
    });
    s.input.once('end', () => {
      // The client half-closed: with StdinOnce (docker run -i) the container's stdin closes too.
      // Not with a TTY (as moby): the CLI half-closes when it detaches on ctrl-p ctrl-q itself.
      if (!detached && c.Config.StdinOnce && !tty && !stdin.destroyed) stdin.end();
    });
  });
  await new Promise<void>((resolve) => {
    if (hub.ended) resolve();
    hub.once('end', () => resolve());
    void s.closed.then(() => resolve());
    void detachedNow.then(() => resolve());
  });
  source.attached?.(c, detached ? 'detach' : 'end');
  hub.off('data', onData);
  s.finish();
}
