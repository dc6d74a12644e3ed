import { createHash } from 'node:crypto';
import { invalid } from '../errors.js';
import type { RegistryCredentials } from './types.js';

/**
 * Docker's AuthConfig, as clients send it:
 *
 *   X-Registry-Auth (pull, push)  base64url (RFC 4648 §5, padded) of the JSON; the docker CLI
 *                                 sends `e30=` (`{}`) when it has nothing; dockerode sends
 *                                 standard base64, which is accepted too.
 *   POST /auth body               the JSON itself.
 *
 *   { "username", "password", "auth": base64("user:pass"), "serveraddress",
 *     "identitytoken": an OAuth refresh token from an earlier login, "registrytoken": a bearer
 *     token to send as is, "email" (ignored) }
 */
const FIELDS = ['username', 'password', 'auth', 'serveraddress', 'identitytoken', 'registrytoken'] as const;

/**
 * Decodes an `X-Registry-Auth` header. Absent, empty or `{}` -> undefined (anonymous);
 * a header that is not base64 of a JSON object with string fields -> 400.
 */
export function decodeRegistryAuth(header: string | readonly string[] | undefined): RegistryCredentials | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  // Node's decoder skips what is not base64; check the alphabet first so garbage is refused.
  if (!/^[A-Za-z0-9_\-+/]+={0,2}$/.test(text)) throw invalid('invalid X-Registry-Auth header: it is not base64url-encoded JSON');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid('invalid X-Registry-Auth header: it is not base64url-encoded JSON');
  }
  const credentials = parseAuthConfig(parsed, 'X-Registry-Auth header');
  return isEmpty(credentials) ? undefined : credentials;
}

/** Validates an AuthConfig object (POST /auth's body, or a decoded header). */
export function parseAuthConfig(value: unknown, what = 'auth config'): RegistryCredentials {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`invalid ${what}: expected a JSON object`);
  const source = value as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const field of FIELDS) {
    const v = source[field];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') throw invalid(`invalid ${what}: "${field}" must be a string`);
    out[field] = v;
  }
  return out;
}

/** Username and password, from the fields or from `auth` (base64 `user:pass`), when there are both. */
export function basicCredentials(credentials: RegistryCredentials | undefined): { username: string; password: string } | undefined {
  if (credentials === undefined) return undefined;
  if (credentials.username !== undefined && credentials.username !== '') {
    return { username: credentials.username, password: credentials.password ?? '' };
  }
  if (credentials.auth !== undefined && credentials.auth !== '') {
    const decoded = Buffer.from(credentials.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/\0+$/, '') };
  }
  return undefined;
}

/**
 * A short, non-reversible identity of a set of credentials: cached tokens are keyed by it, so
 * a token obtained with one password is never served to a request made with another.
 */
export function credentialsKey(credentials: RegistryCredentials | undefined): string {
  const basic = basicCredentials(credentials);
  const material = JSON.stringify([basic?.username ?? '', basic?.password ?? '', credentials?.identitytoken ?? '', credentials?.registrytoken ?? '']);
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}

function isEmpty(credentials: RegistryCredentials): boolean {
  return Object.keys(credentials).filter((k) => k !== 'serveraddress').length === 0;
}
