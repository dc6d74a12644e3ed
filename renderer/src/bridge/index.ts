import type { BerthBridge } from '@shared/bridge.js';
import { BRIDGE_GLOBAL } from '@shared/bridge.js';
import { WebSocketBridge } from './ws-bridge.js';

let bridge: BerthBridge | undefined;

/**
 * The one bridge of this page: the preload's (`window.berth`, Electron) when present, else a
 * WebSocket to the local server (browser mode). Stores reach the engine only through this.
 */
export function useBridge(): BerthBridge {
  if (bridge !== undefined) return bridge;
  const fromPreload = (window as unknown as Record<string, BerthBridge | undefined>)[BRIDGE_GLOBAL];
  bridge = fromPreload ?? WebSocketBridge.fromLocation(window.location);
  return bridge;
}

/** Tests install their own bridge before mounting. */
export function setBridge(next: BerthBridge | undefined): void {
  bridge = next;
}

/** A random id for subscriptions, sessions and operations. */
export function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
