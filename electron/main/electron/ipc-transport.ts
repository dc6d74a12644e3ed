import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import type { EventChannel, EventPayload, InvokeReply } from '../../shared/bridge.js';
import { IPC_EVENT, IPC_INVOKE } from '../../shared/bridge.js';
import { CloseHooks, type Client, type ClientSet, type HandlerRegistry } from '../transport/registry.js';

/**
 * The Electron transport of the bridge: the preload's `ipcRenderer.invoke(IPC_INVOKE, channel,
 * args)` reaches `registry.dispatch`, and services' pushes go back with
 * `webContents.send(IPC_EVENT, channel, payload)`.
 *
 * One Client per page load of a window we created: what services hold for it (follows,
 * watches, terminals) is released when its webContents is destroyed, its renderer crashes, or
 * it loads a new page (a reload starts with nothing subscribed). Invokes from anything else —
 * another webContents, a subframe, a page from another origin — are refused.
 */
export interface IpcTransportOptions {
  readonly registry: HandlerRegistry;
  readonly clients: ClientSet;
  /** The origin our windows load the renderer from (the local server's). */
  readonly origin: string;
}

export interface IpcTransport {
  /** Lets this window's main frame use the bridge. */
  allow(contents: WebContents): void;
  /** Stops handling invokes and closes every client. */
  close(): void;
}

interface Attached {
  readonly contents: WebContents;
  client: (Client & { hooks: CloseHooks }) | undefined;
}

const REFUSED: InvokeReply<never> = { error: { code: 'internal', message: 'refused: this frame is not a Berth window' } };

export function startIpcTransport(opts: IpcTransportOptions): IpcTransport {
  const attached = new Map<number, Attached>();
  let nextClient = 0;

  function newClient(entry: Attached): Client & { hooks: CloseHooks } {
    const hooks = new CloseHooks();
    const { contents } = entry;
    const client = {
      id: `ipc-${contents.id}-${++nextClient}`,
      hooks,
      get closed() {
        return hooks.closed;
      },
      emit<C extends EventChannel>(channel: C, payload: EventPayload<C>) {
        if (!hooks.closed && !contents.isDestroyed()) contents.send(IPC_EVENT, channel, payload);
      },
      onClose: (fn: () => void) => hooks.add(fn),
    };
    opts.clients.add(client);
    return client;
  }

  function endClient(entry: Attached): void {
    entry.client?.hooks.run();
    entry.client = undefined;
  }

  function trusted(event: IpcMainInvokeEvent): Attached | undefined {
    const entry = attached.get(event.sender.id);
    if (entry === undefined || entry.contents !== event.sender) return undefined;
    const frame = event.senderFrame;
    if (frame === null || frame !== event.sender.mainFrame) return undefined;
    return sameOrigin(frame.url, opts.origin) ? entry : undefined;
  }

  ipcMain.handle(IPC_INVOKE, async (event: IpcMainInvokeEvent, channel: unknown, args: unknown) => {
    const entry = trusted(event);
    if (entry === undefined) return REFUSED;
    entry.client ??= newClient(entry);
    return opts.registry.dispatch(channel, args, entry.client);
  });

  return {
    allow(contents) {
      if (attached.has(contents.id)) return;
      const entry: Attached = { contents, client: undefined };
      attached.set(contents.id, entry);
      // A new document in the main frame (a reload) starts with nothing subscribed. Ended when
      // the navigation starts, not when it commits, so the new page's first invoke cannot land
      // before the old client is gone.
      contents.on('did-start-navigation', (details) => {
        if (details.isMainFrame && !details.isSameDocument) endClient(entry);
      });
      contents.on('render-process-gone', () => endClient(entry));
      contents.once('destroyed', () => {
        endClient(entry);
        attached.delete(contents.id);
      });
    },
    close() {
      ipcMain.removeHandler(IPC_INVOKE);
      for (const entry of attached.values()) endClient(entry);
      attached.clear();
    },
  };
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
