import { constants } from 'node:os';
import { invalid } from '../errors.js';

const SIGNALS = constants.signals as Readonly<Record<string, number>>;

/** Parses a signal as Docker accepts it: `SIGTERM`, `TERM`, `term` or `15`. */
export function parseSignal(value: string): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  } else {
    const upper = text.toUpperCase();
    const n = SIGNALS[upper.startsWith('SIG') ? upper : `SIG${upper}`];
    if (n !== undefined) return n;
    const rt = /^SIGRTM(IN|AX)([+-]\d+)?$/.exec(upper.startsWith('SIG') ? upper : `SIG${upper}`);
    if (rt) return (rt[1] === 'IN' ? 34 : 64) + Number(rt[2] ?? 0);
  }
  throw invalid(`Invalid signal: ${value}`);
}

export const SIGKILL = 9;
export const SIGTERM = 15;
