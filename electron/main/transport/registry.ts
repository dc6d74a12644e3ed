import type { EventChannel, EventPayload, InvokeArgs, InvokeChannel, InvokeReply, InvokeResult } from '../../shared/bridge.js';
import { isInvokeChannel } from '../../shared/bridge.js';
import { toBridgeError } from './errors.js';

/**
 * One connected renderer (an Electron window, or a browser tab on the WebSocket). Services
 * push to it with `emit` and tie what they hold for it (log follows, stats watches,
 * terminals) to `onClose`.
 */
export interface Client {
  readonly id: string;
  readonly closed: boolean;
  emit<C extends EventChannel>(channel: C, payload: EventPayload<C>): void;
  /** Runs `fn` once when the client goes away (at once if it already has). */
  onClose(fn: () => void): void;
}

export type Handler<C extends InvokeChannel> = (args: InvokeArgs<C>, client: Client) => Promise<InvokeResult<C>> | InvokeResult<C>;

type AnyHandler = (args: unknown, client: Client) => Promise<unknown> | unknown;

/**
 * The invoke handlers. Each service registers its own (`registerContainers(registry, …)`);
 * the composition root only wires. A channel has exactly one handler.
 */
export class HandlerRegistry {
  readonly #handlers = new Map<InvokeChannel, AnyHandler>();

  handle<C extends InvokeChannel>(channel: C, handler: Handler<C>): void {
    if (this.#handlers.has(channel)) throw new Error(`a handler for ${channel} is already registered`);
    this.#handlers.set(channel, handler as AnyHandler);
  }

  registered(): InvokeChannel[] {
    return [...this.#handlers.keys()];
  }

  /** Runs the handler for `channel`; never throws: failures become `{error}`. */
  async dispatch(channel: unknown, args: unknown, client: Client): Promise<InvokeReply<unknown>> {
    if (!isInvokeChannel(channel)) {
      return { error: { code: 'unknown-channel', message: `unknown channel ${JSON.stringify(channel)}` } };
    }
    const handler = this.#handlers.get(channel);
    if (handler === undefined) return { error: { code: 'unknown-channel', message: `${channel} is not available` } };
    try {
      return { result: await handler(args, client) };
    } catch (err) {
      return { error: toBridgeError(err) };
    }
  }
}

/** Every connected client, for pushes that go to all (engine events, connection status). */
export class ClientSet {
  readonly #clients = new Set<Client>();

  add(client: Client): void {
    this.#clients.add(client);
    client.onClose(() => this.#clients.delete(client));
  }

  broadcast<C extends EventChannel>(channel: C, payload: EventPayload<C>): void {
    for (const client of this.#clients) if (!client.closed) client.emit(channel, payload);
  }

  get size(): number {
    return this.#clients.size;
  }
}

/** A client's close hooks, for transports to reuse. */
export class CloseHooks {
  #closed = false;
  readonly #hooks: (() => void)[] = [];

  get closed(): boolean {
    return this.#closed;
  }

  add(fn: () => void): void {
    if (this.#closed) fn();
    else this.#hooks.push(fn);
  }

  run(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#hooks.splice(0)) {
      try {
        fn();
      } catch {
        // a failing cleanup must not stop the others
      }
    }
  }
}
