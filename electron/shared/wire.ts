/**
 * The browser-mode WebSocket wire format for the bridge (./bridge.ts).
 *
 * One binary WebSocket message carries one `WireMessage`:
 *
 *   [u32 BE json length][json, UTF-8][u32 BE blob length][blob bytes]...
 *
 * Byte arrays (`Uint8Array` anywhere in the value) travel as blobs after the JSON, which holds
 * `{"$blob": <index>}` in their place: no base64, so a file upload costs its size once.
 * Pure TypeScript on TextEncoder/DataView: both the renderer and Node use it.
 */
import type { BridgeError, EventChannel, InvokeChannel, InvokeReply } from './bridge.js';

export type WireMessage =
  | { readonly t: 'invoke'; readonly id: number; readonly channel: InvokeChannel; readonly args: unknown }
  | { readonly t: 'reply'; readonly id: number; readonly reply: InvokeReply<unknown> }
  | { readonly t: 'event'; readonly channel: EventChannel; readonly payload: unknown };

const BLOB_KEY = '$blob';

export function encodeWire(message: WireMessage): Uint8Array {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(message, (_key, value: unknown) => {
    if (value instanceof Uint8Array) {
      blobs.push(value);
      return { [BLOB_KEY]: blobs.length - 1 };
    }
    return value;
  });
  const head = new TextEncoder().encode(json);
  let total = 4 + head.byteLength;
  for (const blob of blobs) total += 4 + blob.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.byteLength);
  out.set(head, 4);
  let at = 4 + head.byteLength;
  for (const blob of blobs) {
    view.setUint32(at, blob.byteLength);
    out.set(blob, at + 4);
    at += 4 + blob.byteLength;
  }
  return out;
}

export class WireFormatError extends Error {}

export function decodeWire(data: Uint8Array): WireMessage {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength < 4) throw new WireFormatError('message shorter than its header');
  const jsonLength = view.getUint32(0);
  if (4 + jsonLength > data.byteLength) throw new WireFormatError('JSON length past the end of the message');
  const blobs: Uint8Array[] = [];
  let at = 4 + jsonLength;
  while (at < data.byteLength) {
    if (at + 4 > data.byteLength) throw new WireFormatError('truncated blob header');
    const length = view.getUint32(at);
    if (at + 4 + length > data.byteLength) throw new WireFormatError('blob length past the end of the message');
    blobs.push(data.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  const json = new TextDecoder().decode(data.subarray(4, 4 + jsonLength));
  const message: unknown = JSON.parse(json, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      const index = (value as Record<string, unknown>)[BLOB_KEY];
      if (keys.length === 1 && typeof index === 'number') {
        const blob = blobs[index];
        if (blob === undefined) throw new WireFormatError(`blob ${index} is missing`);
        return blob;
      }
    }
    return value;
  });
  if (!isWireMessage(message)) throw new WireFormatError('not a bridge message');
  return message;
}

function isWireMessage(value: unknown): value is WireMessage {
  if (value === null || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  switch (m['t']) {
    case 'invoke':
      return typeof m['id'] === 'number' && typeof m['channel'] === 'string';
    case 'reply':
      return typeof m['id'] === 'number' && typeof m['reply'] === 'object' && m['reply'] !== null;
    case 'event':
      return typeof m['channel'] === 'string';
    default:
      return false;
  }
}

export function errorReply(error: BridgeError): InvokeReply<never> {
  return { error };
}
