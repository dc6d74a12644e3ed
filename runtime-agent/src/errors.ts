/**
 * berthd's errors. Every failure a caller can cause is a BerthError with a stable code;
 * `api/errors.ts` is the one place that turns a code into an HTTP status and Docker's
 * `{"message": "..."}` body. Anything that is not a BerthError is a bug and becomes a 500.
 */
export type ErrorCode =
  | 'invalid-parameter' // 400: the request is malformed or names something impossible
  | 'unauthorized' // 401: a registry refused the credentials (docker login, pull, push)
  | 'forbidden' // 403: understood, but not allowed in this state
  | 'not-found' // 404: no such container / image / exec / path
  | 'conflict' // 409: name in use, container running, image in use
  | 'not-modified' // 304: already in the requested state (start of a running container)
  | 'not-implemented' // 501: a Docker feature berthd does not provide (yet)
  | 'unavailable' // 503: berthd is shutting down
  | 'system'; // 500: the kernel or the disk failed us

export class BerthError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
  }
}

export const invalid = (message: string, cause?: unknown): BerthError =>
  new BerthError('invalid-parameter', message, { cause });
export const notFound = (message: string): BerthError => new BerthError('not-found', message);
export const conflict = (message: string): BerthError => new BerthError('conflict', message);
export const forbidden = (message: string): BerthError => new BerthError('forbidden', message);
export const unauthorized = (message: string, cause?: unknown): BerthError =>
  new BerthError('unauthorized', message, { cause });
export const notModified = (message: string): BerthError => new BerthError('not-modified', message);
export const notImplemented = (message: string): BerthError =>
  new BerthError('not-implemented', message);
export const systemError = (message: string, cause?: unknown): BerthError =>
  new BerthError('system', message, { cause });

export function isBerthError(err: unknown, code?: ErrorCode): err is BerthError {
  return err instanceof BerthError && (code === undefined || err.code === code);
}

/** The errno code of a Node system error (`ENOENT`, `EEXIST`...), if it is one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
