import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import type { LogEntry } from './logs/json-file.js';

export type OutputStream = 'stdout' | 'stderr';

interface OutputEvents {
  /** Raw bytes as the process wrote them (attach). */
  data: [stream: OutputStream, chunk: Buffer];
  /** A line written to the log (logs --follow). */
  entry: [entry: LogEntry];
  /** The process is gone and its output drained. */
  end: [];
}

/**
 * The live output of one run of a container, fanned out to every attached client and
 * log follower. A new hub is made for every start; `end` fires once, after the last byte.
 */
export class OutputHub extends EventEmitter<OutputEvents> {
  ended = false;
  /** The container's stdin when it was started with OpenStdin. */
  stdin: Writable | null = null;

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('end');
  }
}
