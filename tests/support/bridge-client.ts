import { WebSocket } from 'ws';
import type { BerthBridge, EventChannel, EventPayload, InvokeArgs, InvokeChannel, InvokeReply, InvokeResult } from '../../electron/shared/bridge.js';
import { BridgeFailure } from '../../electron/shared/bridge.js';
import { decodeWire, encodeWire } from '../../electron/shared/wire.js';

/**
 * A Node client of the app's local server, speaking the same wire format as the renderer's
 * WebSocket bridge: integration tests drive the main-process services through it.
 */
export interface NodeBridge extends BerthBridge {
  /** Resolves with the next push on `channel` that `match` accepts. */
  next<C extends EventChannel>(channel: C, match?: (payload: EventPayload<C>) => boolean, timeoutMs?: number): Promise<EventPayload<C>>;
  close(): Promise<void>;
}

export async function connectBridge(serverUrl: string): Promise<NodeBridge> {
  const url = new URL(serverUrl);
  const ws = new WebSocket(`ws://${url.host}/bridge?token=${url.searchParams.get('token') ?? ''}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<EventChannel, Set<(p: unknown) => void>>();
  ws.on('message', (data: Buffer) => {
    const m = decodeWire(new Uint8Array(data));
    if (m.t === 'reply') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      const reply = m.reply as InvokeReply<unknown>;
      if ('error' in reply) p?.reject(new BridgeFailure(reply.error));
      else p?.resolve(reply.result);
    } else if (m.t === 'event') {
      for (const l of listeners.get(m.channel) ?? []) l(m.payload);
    }
  });
  ws.on('close', () => {
    for (const p of pending.values()) p.reject(new Error('bridge closed'));
    pending.clear();
  });

  const bridge: NodeBridge = {
    invoke<C extends InvokeChannel>(channel: C, args: InvokeArgs<C>): Promise<InvokeResult<C>> {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(encodeWire({ t: 'invoke', id, channel, args }));
      });
    },
    on<C extends EventChannel>(channel: C, listener: (payload: EventPayload<C>) => void) {
      let set = listeners.get(channel);
      if (set === undefined) listeners.set(channel, (set = new Set()));
      const l = listener as (p: unknown) => void;
      set.add(l);
      return () => set.delete(l);
    },
    next(channel, match = () => true, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`no ${channel} push within ${timeoutMs} ms`));
        }, timeoutMs);
        const off = bridge.on(channel, (payload) => {
          if (!match(payload)) return;
          clearTimeout(timer);
          off();
          resolve(payload);
        });
      });
    },
    async close() {
      if (ws.readyState === ws.CLOSED) return;
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close();
      });
    },
  };
  return bridge;
}
