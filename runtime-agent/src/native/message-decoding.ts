import { systemError } from '../errors.js';
import type { HelperMessage } from './protocol.js';

/**
 * One line from the helper (without its '\n') → a HelperMessage. Strict: anything but the five
 * documented shapes (docs/helper-protocol.md) is a `system` BerthError, since berthd and the
 * helper are built together and a mismatch means one of them is broken.
 *
 *   pid <host pid>
 *   started
 *   ready                       hold: the filesystem is mounted, the helper is inside it
 *   error <stage> <errno> <message, may hold spaces>
 *   exit <code> <signal>        code is 128+signal when killed by one, signal 0 otherwise
 */
export function decodeHelperMessage(line: string): HelperMessage {
  let m: RegExpExecArray | null;
  if ((m = /^pid ([1-9]\d{0,9})$/.exec(line))) return { type: 'pid', pid: Number(m[1]) };
  if (line === 'started') return { type: 'started' };
  if (line === 'ready') return { type: 'ready' };
  if ((m = /^error ([a-z][a-z0-9-]*) (\d{1,5}) (.*)$/.exec(line))) {
    return { type: 'error', stage: m[1]!, errno: Number(m[2]), message: m[3]! };
  }
  if ((m = /^exit (\d{1,3}) (\d{1,2})$/.exec(line))) return { type: 'exit', code: Number(m[1]), signal: Number(m[2]) };
  throw systemError(`berth-helper: expected pid|started|ready|error|exit, received ${JSON.stringify(line)}`);
}

/** What a receiver expected, for "expected X, received Y" errors. */
export function describeMessage(message: HelperMessage | undefined): string {
  return message === undefined ? 'end of stream' : message.type;
}
