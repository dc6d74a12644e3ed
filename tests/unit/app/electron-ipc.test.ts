import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { IpcMainInvokeEvent, WebContents } from 'electron';
import { IPC_EVENT, IPC_INVOKE, type AppInfo, type ConnectionStatus } from '../../../electron/shared/bridge.js';
import { ClientSet, HandlerRegistry, type Client } from '../../../electron/main/transport/registry.js';

// The Electron binary cannot run here (no download, no display): `electron` is replaced by
// an ipcMain that records its handler, and webContents are plain event emitters.
type InvokeHandler = (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>;
const ipc = vi.hoisted(() => ({ handlers: new Map<string, InvokeHandler>() }));
vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, fn: InvokeHandler) => {
      if (ipc.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      ipc.handlers.set(channel, fn);
    },
    removeHandler: (channel: string) => ipc.handlers.delete(channel),
  },
}));

const { startIpcTransport } = await import('../../../electron/main/electron/ipc-transport.js');

const ORIGIN = 'http://127.0.0.1:4567';
const CONNECTING: ConnectionStatus = { target: { kind: 'local', socketPath: '/run/berth/berth.sock' }, state: 'connecting' };
const INFO: AppInfo = { version: '9.9.9', mode: 'electron', platform: 'linux', vmAvailable: false };

class FakeContents extends EventEmitter {
  static next = 1;
  readonly id = FakeContents.next++;
  readonly sent: unknown[][] = [];
  destroyed = false;
  readonly mainFrame = { url: `${ORIGIN}/?token=t#/dashboard` };
  send(...args: unknown[]): void {
    this.sent.push(args);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('destroyed');
  }
}

function asContents(c: FakeContents): WebContents {
  return c as unknown as WebContents;
}

function invoke(from: FakeContents, channel: unknown, args?: unknown, frame: { url: string } | null = from.mainFrame): Promise<unknown> {
  const handler = ipc.handlers.get(IPC_INVOKE);
  if (handler === undefined) throw new Error('no IPC_INVOKE handler registered');
  const event = { sender: from, senderFrame: frame } as unknown as IpcMainInvokeEvent;
  return handler(event, channel, args);
}

describe('Electron IPC transport', () => {
  let registry: HandlerRegistry;
  let clients: ClientSet;
  let seen: Client[];

  beforeEach(() => {
    ipc.handlers.clear();
    registry = new HandlerRegistry();
    clients = new ClientSet();
    seen = [];
    registry.handle('app:info', (_args, client) => {
      seen.push(client);
      return INFO;
    });
  });

  it('dispatches an invoke from our window to the registry', async () => {
    const transport = startIpcTransport({ registry, clients, origin: ORIGIN });
    const win = new FakeContents();
    transport.allow(asContents(win));
    await expect(invoke(win, 'app:info')).resolves.toEqual({ result: INFO });
    await invoke(win, 'app:info');
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]); // one client per page load
    transport.close();
    expect(ipc.handlers.has(IPC_INVOKE)).toBe(false);
  });

  it('answers an unknown or unregistered channel with an error reply', async () => {
    const transport = startIpcTransport({ registry, clients, origin: ORIGIN });
    const win = new FakeContents();
    transport.allow(asContents(win));
    await expect(invoke(win, 'shell:exec', {})).resolves.toEqual({ error: { code: 'unknown-channel', message: 'unknown channel "shell:exec"' } });
    await expect(invoke(win, 'images:list')).resolves.toMatchObject({ error: { code: 'unknown-channel' } });
    transport.close();
  });

  it('refuses other webContents, subframes and other origins', async () => {
    const transport = startIpcTransport({ registry, clients, origin: ORIGIN });
    const win = new FakeContents();
    transport.allow(asContents(win));
    const stranger = new FakeContents();
    await expect(invoke(stranger, 'app:info')).resolves.toMatchObject({ error: { message: expect.stringContaining('refused') } });
    await expect(invoke(win, 'app:info', undefined, { url: `${ORIGIN}/frame` })).resolves.toMatchObject({ error: { message: expect.stringContaining('refused') } });
    await expect(invoke(win, 'app:info', undefined, null)).resolves.toMatchObject({ error: { message: expect.stringContaining('refused') } });
    win.mainFrame.url = 'https://evil.example/';
    await expect(invoke(win, 'app:info')).resolves.toMatchObject({ error: { message: expect.stringContaining('refused') } });
    expect(seen).toHaveLength(0);
    transport.close();
  });

  it('delivers pushes with webContents.send and stops when the window is destroyed', async () => {
    const transport = startIpcTransport({ registry, clients, origin: ORIGIN });
    const win = new FakeContents();
    transport.allow(asContents(win));
    await invoke(win, 'app:info');
    const client = seen[0];
    if (client === undefined) throw new Error('no client');
    let released = 0;
    client.onClose(() => released++);
    clients.broadcast('connection:changed', CONNECTING);
    client.emit('connection:changed', { ...CONNECTING, state: 'connected' });
    expect(win.sent).toEqual([
      [IPC_EVENT, 'connection:changed', CONNECTING],
      [IPC_EVENT, 'connection:changed', { ...CONNECTING, state: 'connected' }],
    ]);
    expect(clients.size).toBe(1);
    win.destroy();
    expect(released).toBe(1);
    expect(client.closed).toBe(true);
    expect(clients.size).toBe(0);
    client.emit('connection:changed', CONNECTING);
    expect(win.sent).toHaveLength(2);
    transport.close();
  });

  it('starts a fresh client when the page reloads, releasing the old one', async () => {
    const transport = startIpcTransport({ registry, clients, origin: ORIGIN });
    const win = new FakeContents();
    transport.allow(asContents(win));
    await invoke(win, 'app:info');
    win.emit('did-start-navigation', { isMainFrame: true, isSameDocument: true }); // a hash route
    win.emit('did-start-navigation', { isMainFrame: false, isSameDocument: false }); // a subframe
    await invoke(win, 'app:info');
    expect(seen[1]).toBe(seen[0]);
    win.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false }); // a reload
    await invoke(win, 'app:info');
    expect(seen[0]?.closed).toBe(true);
    expect(seen[2]).not.toBe(seen[0]);
    expect(seen[2]?.closed).toBe(false);
    transport.close();
    expect(seen[2]?.closed).toBe(true);
  });
});
