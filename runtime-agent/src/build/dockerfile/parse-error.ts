import { invalid, type BerthError } from '../../errors.js';

/** A Dockerfile syntax error, located: `Dockerfile parse error line 7: unknown instruction: RUNN`. */
export function parseError(line: number, message: string): BerthError {
  return invalid(`Dockerfile parse error line ${line}: ${message}`);
}

/**
 * A rule broken inside one instruction, before the parser knows where it is; the
 * instruction parser catches it and rethrows it with the line (parseError).
 */
export class InstructionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstructionError';
  }
}
