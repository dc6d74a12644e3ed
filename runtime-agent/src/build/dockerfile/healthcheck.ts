import { parseGoDuration } from './duration.js';
import { InstructionError } from './parse-error.js';

/**
 * HEALTHCHECK's checks that need no expansion: `NONE` takes nothing, `CMD` needs a command,
 * other types are refused, and the flags are durations (Go syntax, at least 1ms unless 0)
 * and a non-negative retry count.
 */

export const DURATION_FLAGS = ['interval', 'timeout', 'start-period', 'start-interval'] as const;
const MINIMUM_NANOSECONDS = 1e6;

/** The first word (the type, upper-cased) and the text after it. */
export function splitHealthcheckType(text: string): { type: string; rest: string } {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text);
  return { type: (match?.[1] ?? '').toUpperCase(), rest: match?.[2] ?? '' };
}

export function checkHealthcheckType(type: string, rest: string): void {
  if (type === 'NONE') {
    if (rest !== '') throw new InstructionError('HEALTHCHECK NONE takes no arguments');
    return;
  }
  if (type !== 'CMD') throw new InstructionError(`Unknown type "${type}" in HEALTHCHECK (try CMD)`);
}

export function checkHealthcheckFlags(flags: Readonly<Record<string, string>>): void {
  for (const name of DURATION_FLAGS) {
    const text = Object.hasOwn(flags, name) ? flags[name] : undefined;
    if (text === undefined || text === '') continue;
    const nanoseconds = parseGoDuration(text);
    if (nanoseconds === undefined) {
      throw new InstructionError(
        `--${name}: invalid duration "${text}" (write a number with a unit: 30s, 1m30s, 500ms)`,
      );
    }
    if (nanoseconds !== 0 && nanoseconds < MINIMUM_NANOSECONDS) {
      throw new InstructionError(`--${name} cannot be less than 1ms (got "${text}")`);
    }
  }
  const retries = Object.hasOwn(flags, 'retries') ? flags['retries'] : undefined;
  if (retries !== undefined && retries !== '') {
    if (!/^[+-]?\d+$/.test(retries) || Math.abs(Number(retries)) > 2 ** 31 - 1) {
      throw new InstructionError(`--retries must be a whole number, not "${retries}"`);
    }
    if (Number(retries) < 0) throw new InstructionError(`--retries cannot be negative (${Number(retries)})`);
  }
}
