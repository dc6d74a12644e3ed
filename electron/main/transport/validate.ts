import { InvalidArgument } from './errors.js';

/**
 * Argument checks for what arrives over a transport: the types in bridge.ts say what a
 * well-behaved renderer sends, these make sure of it before anything reaches the engine.
 */
export function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgument(`${what} must be an object`);
  return value as Record<string, unknown>;
}

export function text(value: unknown, what: string, opts: { optional?: false; allowEmpty?: boolean; max?: number }): string;
export function text(value: unknown, what: string, opts: { optional: true; allowEmpty?: boolean; max?: number }): string | undefined;
export function text(value: unknown, what: string, opts: { optional?: boolean; allowEmpty?: boolean; max?: number } = {}): string | undefined {
  if (value === undefined || value === null) {
    if (opts.optional === true) return undefined;
    throw new InvalidArgument(`${what} is required`);
  }
  if (typeof value !== 'string') throw new InvalidArgument(`${what} must be a string`);
  if (value === '' && opts.allowEmpty !== true) {
    if (opts.optional === true) return undefined;
    throw new InvalidArgument(`${what} must not be empty`);
  }
  if (value.length > (opts.max ?? 4096)) throw new InvalidArgument(`${what} is too long (at most ${opts.max ?? 4096} characters)`);
  if (value.includes('\0')) throw new InvalidArgument(`${what} must not contain a NUL character`);
  return value;
}

export function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new InvalidArgument(`${what} must be a whole number`);
  if (value < min || value > max) throw new InvalidArgument(`${what} must be between ${min} and ${max}`);
  return value;
}

export function optionalInteger(value: unknown, what: string, min: number, max: number): number | undefined {
  return value === undefined || value === null ? undefined : integer(value, what, min, max);
}

export function bool(value: unknown, what: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new InvalidArgument(`${what} must be true or false`);
  return value;
}

export function oneOf<T extends string>(value: unknown, what: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidArgument(`${what} must be one of ${allowed.join(', ')}`);
}

export function list(value: unknown, what: string, max = 1000): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidArgument(`${what} must be a list`);
  if (value.length > max) throw new InvalidArgument(`${what} has more than ${max} items`);
  return value;
}

export function stringMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  const r = record(value, what);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) out[text(k, `${what} key`, {})] = text(v, `${what}.${k}`, { allowEmpty: true });
  return out;
}

export function bytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new InvalidArgument(`${what} must be bytes`);
}

/** Subscription, session and operation ids the renderer picks: short and plain. */
export function clientId(value: unknown, what: string): string {
  const id = text(value, what, { max: 100 });
  if (!/^[A-Za-z0-9_.:-]+$/.test(id)) throw new InvalidArgument(`${what} may hold only letters, digits and _ . : -`);
  return id;
}
