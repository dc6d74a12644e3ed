import { describe, expect, it } from 'vitest';
import { decodeWire, encodeWire, WireFormatError } from '../../../electron/shared/wire.js';

describe('bridge wire format', () => {
  it('round-trips an invoke with nested byte arrays as blobs, not base64', () => {
    const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
    const encoded = encodeWire({ t: 'invoke', id: 7, channel: 'files:upload', args: { file: { name: 'a.bin', bytes }, other: [new Uint8Array([1, 2])] } });
    // The JSON head holds only a reference; the bytes follow once.
    expect(encoded.byteLength).toBeLessThan(bytes.byteLength + 300);
    const decoded = decodeWire(encoded);
    expect(decoded.t).toBe('invoke');
    if (decoded.t !== 'invoke') return;
    const args = decoded.args as { file: { name: string; bytes: Uint8Array }; other: Uint8Array[] };
    expect(args.file.name).toBe('a.bin');
    expect(Buffer.from(args.file.bytes).equals(Buffer.from(bytes))).toBe(true);
    expect([...(args.other[0] ?? [])]).toEqual([1, 2]);
  });

  it('round-trips replies and events', () => {
    const reply = decodeWire(encodeWire({ t: 'reply', id: 3, reply: { error: { message: 'no such container', status: 404 } } }));
    expect(reply).toEqual({ t: 'reply', id: 3, reply: { error: { message: 'no such container', status: 404 } } });
    const event = decodeWire(encodeWire({ t: 'event', channel: 'terminal:output', payload: { session: 's', data: 'héllo\n' } }));
    expect(event).toEqual({ t: 'event', channel: 'terminal:output', payload: { session: 's', data: 'héllo\n' } });
  });

  it('refuses truncated, oversized and foreign messages', () => {
    const good = encodeWire({ t: 'invoke', id: 1, channel: 'app:info', args: { b: new Uint8Array([9]) } });
    expect(() => decodeWire(good.subarray(0, 2))).toThrow(WireFormatError);
    expect(() => decodeWire(good.subarray(0, good.byteLength - 1))).toThrow(WireFormatError);
    const lying = new Uint8Array(good);
    new DataView(lying.buffer).setUint32(0, 1_000_000);
    expect(() => decodeWire(lying)).toThrow(WireFormatError);
    const json = new TextEncoder().encode(JSON.stringify({ hello: 'world' }));
    const foreign = new Uint8Array(4 + json.byteLength);
    new DataView(foreign.buffer).setUint32(0, json.byteLength);
    foreign.set(json, 4);
    expect(() => decodeWire(foreign)).toThrow(/not a bridge message/);
    const dangling = new TextEncoder().encode(JSON.stringify({ t: 'event', channel: 'x', payload: { $blob: 4 } }));
    const d = new Uint8Array(4 + dangling.byteLength);
    new DataView(d.buffer).setUint32(0, dangling.byteLength);
    d.set(dangling, 4);
    expect(() => decodeWire(d)).toThrow(/blob 4 is missing/);
  });
});
