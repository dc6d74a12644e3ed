import { EventEmitter } from 'node:events';

/**
 * berthd's event stream, in Docker's shape (`GET /events`): every module that changes an
 * object emits here; the API streams and filters. A bounded history answers `since`.
 */
export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon';

export interface EngineEvent {
  Type: EventType;
  /** Docker's Action names: create, start, die, stop, kill, pause, unpause, restart, destroy, rename, attach, exec_create, exec_start, exec_die, health_status: healthy, oom, load, import, tag, untag, delete, save... */
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  /** Unix seconds and nanoseconds. */
  time: number;
  timeNano: number;
  /** Legacy fields the CLI still reads for containers and images. */
  status?: string;
  id?: string;
  from?: string;
}

const HISTORY = 1024;

export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly history: EngineEvent[] = [];
  private lastNano = 0;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  emit(Type: EventType, Action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    // Strictly increasing timestamps keep `since`/`until` and ordering exact.
    let nano = Date.now() * 1_000_000;
    if (nano <= this.lastNano) nano = this.lastNano + 1;
    this.lastNano = nano;
    const event: EngineEvent = {
      Type,
      Action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Math.floor(nano / 1e9),
      timeNano: nano,
    };
    if (Type === 'container' || Type === 'image') {
      event.status = Action;
      event.id = id;
      if (attributes.image !== undefined) event.from = attributes.image;
    }
    this.history.push(event);
    if (this.history.length > HISTORY) this.history.shift();
    this.emitter.emit('event', event);
    return event;
  }

  /** Past events still held, oldest first. */
  past(): readonly EngineEvent[] {
    return this.history;
  }

  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
