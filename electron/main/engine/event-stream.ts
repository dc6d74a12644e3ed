import type Dockerode from 'dockerode';
import type { EngineEvent } from '../../shared/bridge.js';
import { onJsonLines } from './json-lines.js';

const EVENT_TYPES = new Set<EngineEvent['type']>(['container', 'image', 'volume', 'network', 'daemon', 'builder']);

interface RawEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  timeNano?: number;
  time?: number;
}

/** Docker's event JSON in the bridge's shape; undefined for types the app does not follow. */
export function toEngineEvent(raw: RawEvent): EngineEvent | undefined {
  const type = raw.Type as EngineEvent['type'] | undefined;
  if (type === undefined || !EVENT_TYPES.has(type) || typeof raw.Action !== 'string') return undefined;
  const attributes = raw.Actor?.Attributes ?? {};
  const name = attributes['name'] ?? attributes['image'];
  const time = typeof raw.timeNano === 'number' ? Math.floor(raw.timeNano / 1e6) : (raw.time ?? 0) * 1000;
  return { type, action: raw.Action, id: raw.Actor?.ID ?? '', ...(name === undefined ? {} : { name }), time, attributes };
}

export interface EventStreamHandlers {
  onEvent(event: EngineEvent): void;
  /** The stream ended or failed (not called after `close()`). */
  onEnd(reason: string): void;
}

/** One `GET /events` stream, parsed line by line. */
export class EventStream {
  #stream: NodeJS.ReadableStream | undefined;
  #closed = false;

  constructor(docker: Dockerode, handlers: EventStreamHandlers) {
    docker.getEvents({}).then(
      (stream) => {
        if (this.#closed) {
          destroy(stream);
          return;
        }
        this.#stream = stream;
        onJsonLines(stream, (raw) => {
          const event = toEngineEvent(raw as RawEvent);
          if (event !== undefined) handlers.onEvent(event);
        });
        const end = (reason: string) => {
          if (!this.#closed) {
            this.#closed = true;
            handlers.onEnd(reason);
          }
        };
        stream.on('end', () => end('The engine closed its event stream.'));
        stream.on('error', (err: Error) => end(`The engine's event stream failed: ${err.message}`));
      },
      (err: unknown) => {
        if (!this.#closed) {
          this.#closed = true;
          handlers.onEnd(`The engine refused its event stream: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
    );
  }

  close(): void {
    this.#closed = true;
    if (this.#stream !== undefined) destroy(this.#stream);
  }
}

function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
