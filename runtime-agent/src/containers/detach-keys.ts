import { invalid } from '../errors.js';

/** Docker's default detach sequence: ctrl-p, ctrl-q. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** Parses Docker's `--detach-keys` format: `ctrl-<a-z@[\\]^_>` or single characters, comma-separated. */
export function parseDetachKeys(spec: string | null | undefined): Buffer {
  const text = spec === null || spec === undefined || spec === '' ? DEFAULT_DETACH_KEYS : spec;
  const bytes: number[] = [];
  for (const key of text.split(',')) {
    const ctrl = /^ctrl-(.)$/i.exec(key);
    if (ctrl) {
      const ch = (ctrl[1] as string).toLowerCase();
      if (ch >= 'a' && ch <= 'z') bytes.push(ch.charCodeAt(0) - 96);
      else if ('@[\\]^_'.includes(ch)) bytes.push('@[\\]^_'.indexOf(ch) === 0 ? 0 : 26 + '@[\\]^_'.indexOf(ch));
      else throw invalid(`Invalid detach keys (${text}) provided: unknown character '${ch}'`);
    } else if (key.length === 1) {
      bytes.push(key.charCodeAt(0));
    } else {
      throw invalid(`Invalid detach keys (${text}) provided`);
    }
  }
  return Buffer.from(bytes);
}

/**
 * Watches a client's input for the detach sequence. `feed` returns the bytes to pass on
 * (a partial match is held back until it completes or breaks) and whether to detach.
 */
export class DetachKeyFilter {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  feed(chunk: Buffer): { pass: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { pass: Buffer.from(out), detach: true };
        continue;
      }
      // A broken partial match: what was held back belongs to the process after all.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i] as number);
      this.matched = byte === this.keys[0] ? 1 : 0;
      if (this.matched === 0) out.push(byte);
    }
    return { pass: Buffer.from(out), detach: false };
  }
}
