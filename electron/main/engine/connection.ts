import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import type { ConnectionStatus, ConnectionTarget, EngineEvent, EngineInfo } from '../../shared/bridge.js';
import { EngineUnreachable } from '../transport/errors.js';
import { EventStream } from './event-stream.js';
import { readEngineInfo } from './engine-info.js';
import { hostKeyCheck, type HostKeyCheck } from './known-hosts.js';

export const DEFAULT_BERTH_SOCKET = '/run/berth/berth.sock';

/** Backoff between reconnect attempts: 0.5 s doubling to 15 s. */
export function backoffMs(attempt: number): number {
  return Math.min(15_000, 500 * 2 ** Math.min(attempt, 5));
}

/** Host key checks of SSH connections, for a refusal's message. */
const hostChecks = new WeakMap<Dockerode, HostKeyCheck>();

export async function dockerFor(target: ConnectionTarget): Promise<Dockerode> {
  switch (target.kind) {
    case 'local':
      return new Dockerode({ socketPath: target.socketPath ?? DEFAULT_BERTH_SOCKET });
    case 'socket':
      return new Dockerode({ socketPath: target.socketPath });
    case 'ssh': {
      const port = target.port ?? 22;
      const privateKey = target.privateKeyPath === undefined ? undefined : await readFile(target.privateKeyPath, 'utf8');
      const check = await hostKeyCheck(target.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts'), target.host, port, target.username);
      const docker = new Dockerode({
        protocol: 'ssh',
        host: target.host,
        port,
        username: target.username,
        sshOptions: { hostVerifier: (key: Buffer) => check.verify(key), ...(privateKey === undefined ? {} : { privateKey }) },
      });
      hostChecks.set(docker, check);
      return docker;
    }
  }
}

type StatusListener = (status: ConnectionStatus) => void;
type EventListener = (event: EngineEvent) => void;

/**
 * The one engine connection the main process owns. It holds one `/events` stream; when the
 * engine goes away it reports `disconnected` with the time of the next try and reconnects with
 * backoff, so the UI learns of changes from events and never polls.
 *
 * Lifecycle: `connect(target)` → connecting → connected (engine info known, events flowing)
 * → disconnected (retrying) → connected … until `close()`. `connect` again switches targets.
 */
export class EngineConnection {
  #target: ConnectionTarget;
  #docker: Dockerode | undefined;
  #status: ConnectionStatus;
  #events: EventStream | undefined;
  #retry: NodeJS.Timeout | undefined;
  #attempt = 0;
  #generation = 0;
  #closed = false;
  readonly #statusListeners = new Set<StatusListener>();
  readonly #eventListeners = new Set<EventListener>();

  constructor(target: ConnectionTarget) {
    this.#target = target;
    this.#status = { target, state: 'disconnected' };
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  get target(): ConnectionTarget {
    return this.#target;
  }

  /** The dockerode client; throws a clear error while there is no connection. */
  get docker(): Dockerode {
    if (this.#docker === undefined || this.#status.state !== 'connected') {
      throw new EngineUnreachable(this.#status.error ?? 'Not connected to an engine yet. Check the connection in Settings.');
    }
    return this.#docker;
  }

  get engine(): EngineInfo | undefined {
    return this.#status.engine;
  }

  onStatus(listener: StatusListener): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  onEvent(listener: EventListener): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** Connects (or switches) to `target`; resolves with the first attempt's outcome. */
  async connect(target: ConnectionTarget = this.#target): Promise<ConnectionStatus> {
    this.#target = target;
    this.#attempt = 0;
    this.#teardown();
    return this.#attemptConnect(++this.#generation);
  }

  /** Re-reads engine info (counts change with events). */
  async refreshInfo(): Promise<EngineInfo> {
    const info = await readEngineInfo(this.docker);
    this.#setStatus({ target: this.#target, state: 'connected', engine: info });
    return info;
  }

  close(): void {
    this.#closed = true;
    this.#generation++;
    this.#teardown();
  }

  #teardown(): void {
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#events?.close();
    this.#events = undefined;
  }

  async #attemptConnect(generation: number): Promise<ConnectionStatus> {
    this.#setStatus({ target: this.#target, state: 'connecting' });
    let docker: Dockerode | undefined;
    try {
      docker = await dockerFor(this.#target);
      const info = await readEngineInfo(docker);
      if (generation !== this.#generation) return this.#status;
      this.#docker = docker;
      this.#attempt = 0;
      this.#events = new EventStream(docker, {
        onEvent: (event) => {
          for (const listener of this.#eventListeners) listener(event);
        },
        onEnd: (reason) => {
          if (generation === this.#generation) this.#scheduleRetry(generation, reason);
        },
      });
      this.#setStatus({ target: this.#target, state: 'connected', engine: info });
    } catch (err) {
      const refusal = docker === undefined ? undefined : hostChecks.get(docker)?.refusal;
      if (generation === this.#generation) this.#scheduleRetry(generation, refusal ?? describeFailure(this.#target, err));
    }
    return this.#status;
  }

  #scheduleRetry(generation: number, reason: string): void {
    if (this.#closed) return;
    this.#events?.close();
    this.#events = undefined;
    const delay = backoffMs(this.#attempt++);
    this.#setStatus({ target: this.#target, state: 'disconnected', error: reason, retryInMs: delay });
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#attemptConnect(generation);
    }, delay);
    this.#retry.unref();
  }

  #setStatus(status: ConnectionStatus): void {
    this.#status = status;
    for (const listener of this.#statusListeners) listener(status);
  }
}

function describeFailure(target: ConnectionTarget, err: unknown): string {
  const code = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  const where = target.kind === 'ssh' ? `${target.username}@${target.host}` : (target.socketPath ?? DEFAULT_BERTH_SOCKET);
  if (code === 'ENOENT') return `No engine socket at ${where}. Start berthd (npm start) or pick another connection in Settings.`;
  if (code === 'ECONNREFUSED') return `Nothing answers at ${where}. Start the engine or pick another connection in Settings.`;
  if (code === 'EACCES') return `No permission to open ${where}. The socket is only for its owner.`;
  const message = err instanceof Error ? err.message : String(err);
  return `Cannot reach the engine at ${where}: ${message}`;
}
