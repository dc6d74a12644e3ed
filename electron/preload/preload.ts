import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { BerthBridge, EventChannel, EventPayload, InvokeArgs, InvokeChannel, InvokeReply, InvokeResult } from '../shared/bridge.js';
import { BRIDGE_GLOBAL, BridgeFailure, IPC_EVENT, IPC_INVOKE, isEventChannel, isInvokeChannel } from '../shared/bridge.js';

/**
 * The preload: exposes exactly the typed bridge as `window.berth`, nothing of Node or
 * Electron. Runs sandboxed with context isolation; channel names are checked here too, so the
 * page cannot reach any other IPC channel.
 */
const listeners = new Map<EventChannel, Set<(payload: unknown) => void>>();

ipcRenderer.on(IPC_EVENT, (_event: IpcRendererEvent, channel: unknown, payload: unknown) => {
  if (!isEventChannel(channel)) return;
  for (const l of listeners.get(channel) ?? []) l(payload);
});

const bridge: BerthBridge = {
  async invoke<C extends InvokeChannel>(channel: C, args: InvokeArgs<C>): Promise<InvokeResult<C>> {
    if (!isInvokeChannel(channel)) throw new BridgeFailure({ code: 'unknown-channel', message: `unknown channel ${String(channel)}` });
    const reply = (await ipcRenderer.invoke(IPC_INVOKE, channel, args)) as InvokeReply<InvokeResult<C>>;
    if ('error' in reply) throw new BridgeFailure(reply.error);
    return reply.result;
  },
  on<C extends EventChannel>(channel: C, listener: (payload: EventPayload<C>) => void): () => void {
    if (!isEventChannel(channel)) throw new BridgeFailure({ code: 'unknown-channel', message: `unknown channel ${String(channel)}` });
    let set = listeners.get(channel);
    if (set === undefined) listeners.set(channel, (set = new Set()));
    const wrapped = listener as (payload: unknown) => void;
    set.add(wrapped);
    return () => set.delete(wrapped);
  },
};

contextBridge.exposeInMainWorld(BRIDGE_GLOBAL, bridge);
