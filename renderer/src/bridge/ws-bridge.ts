import type { BerthBridge, EventChannel, EventPayload, InvokeArgs, InvokeChannel, InvokeReply, InvokeResult } from '@shared/bridge.js';
import { BridgeFailure } from '@shared/bridge.js';
import { decodeWire, encodeWire } from '@shared/wire.js';

type Listener = (payload: unknown) => void;

/**
 * Browser mode's bridge: a WebSocket to the app's local server (`/bridge?token=…`). Invokes
 * made before the socket opens wait for it; if it drops, pending invokes fail with a message and
 * the client reconnects with backoff (the page's `connection` store shows it).
 */
export class WebSocketBridge implements BerthBridge {
  readonly #url: string;
  #socket: WebSocket | undefined;
  #open: Promise<WebSocket> | undefined;
  #nextId = 0;
  #retry = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #listeners = new Map<EventChannel, Set<Listener>>();
  readonly #linkListeners = new Set<(up: boolean) => void>();

  constructor(url: string) {
    this.#url = url;
  }

  static fromLocation(location: Location): WebSocketBridge {
    const token = new URLSearchParams(location.search).get('token') ?? '';
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return new WebSocketBridge(`${scheme}//${location.host}/bridge?token=${encodeURIComponent(token)}`);
  }

  /** Called with false when the socket to the app drops and true when it is back. */
  onLink(listener: (up: boolean) => void): () => void {
    this.#linkListeners.add(listener);
    return () => this.#linkListeners.delete(listener);
  }

  async invoke<C extends InvokeChannel>(channel: C, args: InvokeArgs<C>): Promise<InvokeResult<C>> {
    const socket = await this.#connect();
    const id = ++this.#nextId;
    const reply = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    socket.send(encodeWire({ t: 'invoke', id, channel, args }));
    return reply as Promise<InvokeResult<C>>;
  }

  on<C extends EventChannel>(channel: C, listener: (payload: EventPayload<C>) => void): () => void {
    let set = this.#listeners.get(channel);
    if (set === undefined) this.#listeners.set(channel, (set = new Set()));
    set.add(listener as Listener);
    void this.#connect().catch(() => undefined);
    return () => set.delete(listener as Listener);
  }

  #connect(): Promise<WebSocket> {
    if (this.#open !== undefined) return this.#open;
    this.#open = new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(this.#url);
      socket.binaryType = 'arraybuffer';
      socket.onopen = () => {
        this.#socket = socket;
        this.#retry = 0;
        for (const l of this.#linkListeners) l(true);
        resolve(socket);
      };
      socket.onmessage = (e: MessageEvent<ArrayBuffer>) => this.#receive(new Uint8Array(e.data));
      socket.onclose = () => {
        const wasOpen = this.#socket === socket;
        this.#socket = undefined;
        this.#open = undefined;
        for (const p of this.#pending.values()) p.reject(new BridgeFailure({ code: 'engine-unreachable', message: 'Lost the connection to the Berth app. Is it still running?' }));
        this.#pending.clear();
        if (wasOpen) for (const l of this.#linkListeners) l(false);
        else reject(new BridgeFailure({ code: 'engine-unreachable', message: 'Cannot reach the Berth app. Is it running, and is the token in the URL right?' }));
        // Reconnect while anyone listens for pushes.
        if (this.#listeners.size > 0) {
          const delay = Math.min(10_000, 250 * 2 ** this.#retry++);
          setTimeout(() => void this.#connect().catch(() => undefined), delay);
        }
      };
    });
    return this.#open;
  }

  #receive(data: Uint8Array): void {
    const message = decodeWire(data);
    if (message.t === 'reply') {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      const reply = message.reply as InvokeReply<unknown>;
      if ('error' in reply) pending.reject(new BridgeFailure(reply.error));
      else pending.resolve(reply.result);
    } else if (message.t === 'event') {
      for (const l of this.#listeners.get(message.channel) ?? []) l(message.payload);
    }
  }
}
