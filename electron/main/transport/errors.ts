import type { BridgeError, BridgeErrorCode } from '../../shared/bridge.js';

/**
 * Errors the main-process services raise, with a stable code. `toBridgeError` is the one
 * place any thrown value becomes what the renderer sees.
 */
export class AppError extends Error {
  constructor(
    readonly code: BridgeErrorCode,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}

export class InvalidArgument extends AppError {
  constructor(message: string) {
    super('invalid-argument', message, 400);
  }
}

export class EngineUnreachable extends AppError {
  constructor(message: string, cause?: unknown) {
    super('engine-unreachable', message, undefined, { cause });
  }
}

/** dockerode's errors carry the engine's status and `{message}` body. */
interface EngineErrorShape {
  readonly statusCode?: number;
  readonly json?: unknown;
  readonly reason?: string;
  readonly code?: string;
  readonly message?: string;
}

function engineMessage(err: EngineErrorShape): string | undefined {
  const json = err.json;
  if (json !== null && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message;
  }
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  return undefined;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);

export function toBridgeError(err: unknown): BridgeError {
  if (err instanceof AppError) {
    return err.status === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, status: err.status };
  }
  if (err !== null && typeof err === 'object') {
    const e = err as EngineErrorShape;
    if (typeof e.statusCode === 'number') {
      const message = engineMessage(e) ?? e.reason ?? `the engine answered ${e.statusCode}`;
      const code: BridgeErrorCode =
        e.statusCode === 404 ? 'not-found' : e.statusCode === 409 ? 'conflict' : e.statusCode < 500 ? 'invalid-argument' : 'engine-error';
      return { code, status: e.statusCode, message };
    }
    if (typeof e.code === 'string' && UNREACHABLE.has(e.code)) {
      return { code: 'engine-unreachable', message: `The engine cannot be reached (${e.code}). Check the connection in Settings.` };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message };
}
