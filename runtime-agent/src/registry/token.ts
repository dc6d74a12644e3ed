import { systemError } from '../errors.js';
import type { Challenge } from './challenge.js';
import { basicCredentials, credentialsKey } from './credentials.js';
import { registryError } from './errors.js';
import { readText, type HttpTransport } from './http.js';
import type { RegistryCredentials } from './types.js';

/**
 * Bearer tokens (the Docker registry token spec) and their cache.
 *
 *   identity token  POST <realm>  grant_type=refresh_token&refresh_token=..&service&scope&client_id
 *   username/pass   GET  <realm>?service&scope=..&scope=..&account=user   Authorization: Basic
 *   nothing         GET  <realm>?service&scope=..                         (anonymous token)
 *
 * `offline` (docker login) also asks for a refresh token (`offline_token=true` /
 * `access_type=offline`), which becomes the login's IdentityToken. Tokens are cached per realm,
 * service, scopes and credentials until `issued_at + expires_in` (at least 60 s, as the spec
 * says), minus a few seconds so none expires in flight.
 */
export interface Token {
  readonly token: string;
  /** Epoch ms after which the token is not used again. */
  readonly expiresAt: number;
  readonly refreshToken?: string;
}

/** Docker's OAuth client id. */
const CLIENT_ID = 'docker';
const MIN_LIFETIME_S = 60;
const EXPIRY_MARGIN_MS = 5_000;

export class TokenCache {
  private readonly entries = new Map<string, Token>();
  /** Token requests made so far (for diagnostics and tests). */
  requests = 0;

  get(key: string): Token | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, token: Token): void {
    this.entries.set(key, token);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

export interface TokenRequest {
  readonly challenge: Challenge;
  readonly scopes: readonly string[];
  readonly credentials: RegistryCredentials | undefined;
  /** Ask for a refresh token too (docker login). */
  readonly offline?: boolean;
  /** Whether the realm's certificate is checked (false for insecure registries' realms). */
  readonly verifyTls: (url: URL) => boolean;
  /** Put before an error's wording: the registry request that needed the token. */
  readonly context: string;
}

/** The cache key of a token request. */
export function tokenKey(req: Pick<TokenRequest, 'challenge' | 'scopes' | 'credentials'>): string {
  const { realm = '', service = '' } = req.challenge.params;
  return [realm, service, [...req.scopes].sort().join(' '), credentialsKey(req.credentials)].join('|');
}

/** A cached token for the request, else a new one from the realm (then cached). */
export async function obtainToken(http: HttpTransport, cache: TokenCache, req: TokenRequest): Promise<Token> {
  const key = tokenKey(req);
  const cached = req.offline === true ? undefined : cache.get(key);
  if (cached !== undefined) return cached;
  const token = await fetchToken(http, cache, req);
  cache.set(key, token);
  return token;
}

async function fetchToken(http: HttpTransport, cache: TokenCache, req: TokenRequest): Promise<Token> {
  const { realm, service } = req.challenge.params;
  let url: URL;
  try {
    url = new URL(realm ?? '');
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw systemError(`${req.context}: the registry's token realm "${realm ?? ''}" is not an http(s) URL`);
  }
  const verifyTls = req.verifyTls(url);
  const basic = basicCredentials(req.credentials);
  const identity = req.credentials?.identitytoken;
  cache.requests++;
  let res;
  if (identity !== undefined && identity !== '') {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: identity, client_id: CLIENT_ID });
    if (service !== undefined) form.set('service', service);
    if (req.scopes.length > 0) form.set('scope', req.scopes.join(' '));
    if (req.offline === true) form.set('access_type', 'offline');
    res = await http.send({
      method: 'POST',
      url,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: Buffer.from(form.toString()),
      verifyTls,
    });
  } else {
    if (service !== undefined) url.searchParams.set('service', service);
    for (const scope of req.scopes) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = {};
    if (basic !== undefined) {
      url.searchParams.set('account', basic.username);
      headers.Authorization = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
      if (req.offline === true) {
        url.searchParams.set('offline_token', 'true');
        url.searchParams.set('client_id', CLIENT_ID);
      }
    }
    res = await http.send({ method: 'GET', url, headers, verifyTls, followRedirects: true });
  }
  const body = await readText(res, 1024 * 1024);
  if (res.status !== 200) throw registryError(res.status, body, `${req.context}: `);
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown; refresh_token?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    throw systemError(`${req.context}: the token server ${url.host} answered with something that is not JSON`);
  }
  const token = typeof parsed.token === 'string' && parsed.token !== '' ? parsed.token : parsed.access_token;
  if (typeof token !== 'string' || token === '') throw systemError(`${req.context}: the token server ${url.host} returned no token`);
  const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in >= MIN_LIFETIME_S ? parsed.expires_in : MIN_LIFETIME_S;
  const issued = typeof parsed.issued_at === 'string' ? Date.parse(parsed.issued_at) : NaN;
  // A server clock far off ours would make issued_at useless: trust it only when close to now.
  const start = Number.isFinite(issued) && Math.abs(issued - Date.now()) < 60_000 ? issued : Date.now();
  return {
    token,
    expiresAt: start + lifetime * 1000 - EXPIRY_MARGIN_MS,
    ...(typeof parsed.refresh_token === 'string' && parsed.refresh_token !== '' ? { refreshToken: parsed.refresh_token } : {}),
  };
}
