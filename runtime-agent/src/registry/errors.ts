import { STATUS_CODES } from 'node:http';
import { BerthError, type ErrorCode } from '../errors.js';

/**
 * Registry error responses -> BerthErrors, worded as Docker words them. The body of a failed
 * registry call is (distribution spec) `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest
 * unknown","detail":...}]}`; Docker prints each as `<code lower-cased, _ as space>: <message>`
 * (`manifest unknown: manifest unknown`), several after `errors:\n`.
 *
 *   UNAUTHORIZED (or 401)                         -> unauthorized (401)
 *   DENIED (or 403)                               -> forbidden (403)
 *   *_UNKNOWN (or 404)                            -> not-found (404)
 *   *_INVALID, MANIFEST_BLOB_UNKNOWN on PUT, 400  -> invalid-parameter (400)
 *   anything else (TOOMANYREQUESTS, UNSUPPORTED, 5xx...) -> system (500)
 */
export interface RegistryErrorEntry {
  readonly code: string;
  readonly message: string;
}

const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  401: 'unauthorized: authentication required',
  403: 'denied: requested access to the resource is denied',
};

/** The entries of a registry error body, or [] when it is not one. */
export function parseRegistryErrors(body: string): RegistryErrorEntry[] {
  try {
    const parsed = JSON.parse(body) as { errors?: unknown; details?: unknown };
    if (Array.isArray(parsed.errors)) {
      return parsed.errors
        .filter((e): e is { code?: unknown; message?: unknown } => typeof e === 'object' && e !== null)
        .map((e) => ({ code: typeof e.code === 'string' ? e.code : 'UNKNOWN', message: typeof e.message === 'string' ? e.message : '' }));
    }
    // Token servers (Docker Hub's among them) answer `{"details": "incorrect username or password"}`.
    if (typeof parsed.details === 'string' && parsed.details !== '') return [{ code: 'UNAUTHORIZED', message: parsed.details }];
  } catch {
    // not JSON
  }
  return [];
}

/** `manifest unknown: manifest unknown` — one entry as Docker prints it. */
export function formatEntry(entry: RegistryErrorEntry): string {
  const code = entry.code.toLowerCase().replace(/_/g, ' ');
  return entry.message === '' ? code : `${code}: ${entry.message}`;
}

/**
 * The BerthError for a failed registry response. `prefix`, when given, is put before the
 * registry's own wording (`manifest for app:v1 not found: `).
 */
export function registryError(status: number, body: string, prefix = ''): BerthError {
  const entries = parseRegistryErrors(body);
  const text =
    entries.length === 0
      ? DEFAULT_MESSAGES[status] ?? `received unexpected HTTP status: ${status} ${STATUS_CODES[status] ?? ''}`
      : entries.length === 1
        ? formatEntry(entries[0] as RegistryErrorEntry)
        : `errors:\n${entries.map(formatEntry).join('\n')}`;
  return new BerthError(classify(status, entries), `${prefix}${text}`);
}

function classify(status: number, entries: readonly RegistryErrorEntry[]): ErrorCode {
  const code = entries[0]?.code ?? '';
  if (code === 'UNAUTHORIZED' || (code === '' && status === 401)) return 'unauthorized';
  if (code === 'DENIED' || (code === '' && status === 403)) return 'forbidden';
  if (code.endsWith('_INVALID') || code === 'MANIFEST_BLOB_UNKNOWN') return 'invalid-parameter';
  if (code.endsWith('_UNKNOWN') || (code === '' && status === 404)) return 'not-found';
  if (code === '' && status === 400) return 'invalid-parameter';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  return 'system';
}
