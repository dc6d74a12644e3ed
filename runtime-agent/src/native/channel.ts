import type { Readable } from 'node:stream';
import type { HelperMessage } from './protocol.js';
import { decodeHelperMessage, describeMessage } from './message-decoding.js';
import { systemError } from '../errors.js';

type MessageOf<T extends HelperMessage['type']> = Extract<HelperMessage, { type: T }>;

/**
 * berthd's receiving end of fd 3: splits the helper's output into lines, decodes them, and
 * hands them out in order. Receivers name what they expect and fail with "expected X,
 * received Y" (a `system` BerthError) on anything else, including the end of the stream.
 */
export class HelperChannel {
  private readonly queue: (HelperMessage | Error)[] = [];
  private waiter: (() => void) | undefined;
  private partial = '';
  private ended = false;

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.push(chunk));
    stream.on('end', () => this.finish());
    stream.on('close', () => this.finish());
    stream.on('error', () => this.finish());
  }

  private push(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        this.queue.push(decodeHelperMessage(line));
      } catch (err) {
        this.queue.push(err as Error);
      }
    }
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next message; `undefined` once the helper closed fd 3. */
  async next(): Promise<HelperMessage | undefined> {
    while (this.queue.length === 0 && !this.ended) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const item = this.queue.shift();
    if (item instanceof Error) throw item;
    return item;
  }

  /** The next message, which must be one of `types`. */
  async expect<T extends HelperMessage['type']>(...types: T[]): Promise<MessageOf<T>> {
    const message = await this.next();
    if (message === undefined || !(types as string[]).includes(message.type)) {
      throw systemError(`berth-helper: expected ${types.join('|')}, received ${describeMessage(message)}`);
    }
    return message as MessageOf<T>;
  }
}
