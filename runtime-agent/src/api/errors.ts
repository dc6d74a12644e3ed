import type { ServerResponse } from 'node:http';
import { BerthError, type ErrorCode, messageOf } from '../errors.js';
import { log } from '../log.js';

/** The one place where berthd's error codes become Docker's HTTP statuses. */
const STATUS: Record<ErrorCode, number> = {
  'invalid-parameter': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'not-modified': 304,
  'not-implemented': 501,
  unavailable: 503,
  system: 500,
};

export function statusOf(err: unknown): number {
  return err instanceof BerthError ? STATUS[err.code] : 500;
}

/** Docker's error body: `{"message": "..."}`. Unknown errors are logged with their stack. */
export function errorBody(err: unknown, context: string): { status: number; body: string } {
  const status = statusOf(err);
  if (status >= 500) {
    log.error('api.error', { request: context, error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
  return { status, body: JSON.stringify({ message: messageOf(err) }) };
}

export function sendError(res: ServerResponse, err: unknown, context: string): void {
  const { status, body } = errorBody(err, context);
  if (res.headersSent) {
    // Mid-stream: the status is gone; Docker's streams carry the error in-band.
    res.destroy();
    return;
  }
  if (status === 304) {
    res.writeHead(304).end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
