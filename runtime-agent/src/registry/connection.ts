import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import { forbidden, isBerthError, systemError, unauthorized } from '../errors.js';
import { parseChallenges, preferredChallenge, type Challenge } from './challenge.js';
import { basicCredentials } from './credentials.js';
import { endpointsFor, type Endpoint, type InsecureRegistries } from './endpoints.js';
import { discard, goMethod, isTimeout, type HttpMethod, type HttpResponse, type HttpTransport } from './http.js';
import { obtainToken, tokenKey, type TokenCache } from './token.js';
import type { RegistryCredentials } from './types.js';

/**
 * One registry, one set of credentials, one set of scopes: finds the endpoint and answers the
 * registry's authentication challenges, so callers just send requests.
 *
 *   1. ping   GET /v2/ anonymously on each endpoint in turn (https, then http for insecure
 *             registries; a network error moves on, a timeout does not): the first that answers
 *             is used, and its 401 challenge (Bearer or Basic) is remembered.
 *   2. send   each request carries the Authorization the challenge calls for (a cached bearer
 *             token for the scopes, or basic credentials); Authorization goes to the registry's
 *             own origin only.
 *   3. retry  a 401 that names new scopes (`insufficient_scope`), a new challenge, or that
 *             refused a cached token, is retried once with a fresh token. Requests with a
 *             streamed body are not retried (the stream is spent).
 */
export interface ConnectionDeps {
  readonly http: HttpTransport;
  readonly tokens: TokenCache;
  readonly insecure: InsecureRegistries;
}

export interface ConnectionRequest {
  readonly method: HttpMethod;
  /** A path on the registry (`/v2/team/app/manifests/v1`) or an absolute URL (a Location). */
  readonly url: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | Readable;
  readonly followRedirects?: boolean;
}

interface Pinged {
  readonly endpoint: Endpoint;
  challenge: Challenge | undefined;
}

export class RegistryConnection {
  private pinged: Promise<Pinged> | undefined;
  private readonly scopes: string[];

  constructor(
    private readonly deps: ConnectionDeps,
    readonly domain: string,
    private readonly credentials: RegistryCredentials | undefined,
    scopes: readonly string[],
  ) {
    this.scopes = mergeScopes(scopes);
  }

  /** The endpoint in use (pings first if needed). */
  async endpoint(): Promise<Endpoint> {
    return (await this.ping()).endpoint;
  }

  async send(req: ConnectionRequest): Promise<HttpResponse> {
    const pinged = await this.ping();
    const { endpoint } = pinged;
    const url = typeof req.url === 'string' ? new URL(req.url, endpoint.base) : req.url;
    const own = url.origin === endpoint.base.origin;
    for (let attempt = 0; ; attempt++) {
      const auth = own ? await this.authorization(pinged, `${goMethod(req.method)} "${url.href}"`) : undefined;
      const res = await this.deps.http.send({
        method: req.method,
        url,
        headers: { ...req.headers, ...(auth !== undefined ? { Authorization: auth.header } : {}) },
        ...(req.body !== undefined ? { body: req.body } : {}),
        verifyTls: own ? endpoint.verifyTls : true,
        ...(req.followRedirects !== undefined ? { followRedirects: req.followRedirects } : {}),
      });
      if (res.status !== 401 || attempt > 0 || !own || req.body instanceof Readable) return res;
      const challenge = preferredChallenge(parseChallenges(res.headers['www-authenticate']));
      const learned = challenge !== undefined && this.learn(pinged, challenge);
      if (!learned && auth?.tokenKey === undefined) return res;
      // A cached token the registry no longer takes (revoked, clock skew): fetch a new one.
      if (auth?.tokenKey !== undefined) this.deps.tokens.delete(auth.tokenKey);
      discard(res);
    }
  }

  /**
   * `docker login`: GET /v2/ with the credentials (through the token server when the registry
   * uses one, asking for a refresh token). Resolves with the refresh token if one was issued.
   */
  async login(): Promise<{ identityToken?: string }> {
    const pinged = await this.ping();
    const v2 = new URL('/v2/', pinged.endpoint.base);
    const context = `Get "${v2.href}"`;
    let header: string | undefined;
    let identityToken: string | undefined;
    const challenge = pinged.challenge;
    if (challenge?.scheme === 'bearer') {
      const token = await obtainToken(this.deps.http, this.deps.tokens, {
        challenge,
        scopes: [],
        credentials: this.credentials,
        offline: true,
        verifyTls: (u) => this.verifyTlsFor(u),
        context,
      }).catch((err: unknown) => {
        // The token server said no: Docker reports it as 401 (`unauthorized: incorrect username or password`).
        if (isBerthError(err) && (err.code === 'forbidden' || err.code === 'invalid-parameter')) throw unauthorized(err.message, err);
        throw err;
      });
      header = `Bearer ${token.token}`;
      identityToken = token.refreshToken;
    } else if (challenge?.scheme === 'basic') {
      header = this.basicHeader();
    }
    const res = await this.deps.http.send({
      method: 'GET',
      url: v2,
      headers: header !== undefined ? { Authorization: header } : {},
      verifyTls: pinged.endpoint.verifyTls,
    });
    discard(res);
    if (res.status === 200) return identityToken !== undefined ? { identityToken } : {};
    const message = `login attempt to ${v2.href} failed with status: ${res.status} ${STATUS_CODES[res.status] ?? ''}`;
    if (res.status === 401) throw unauthorized(message);
    if (res.status === 403) throw forbidden(message);
    throw systemError(message);
  }

  private ping(): Promise<Pinged> {
    this.pinged ??= this.findEndpoint();
    return this.pinged;
  }

  private async findEndpoint(): Promise<Pinged> {
    const candidates = endpointsFor(this.domain, this.deps.insecure);
    let lastError: unknown;
    for (const endpoint of candidates) {
      try {
        const res = await this.deps.http.send({ method: 'GET', url: new URL('/v2/', endpoint.base), verifyTls: endpoint.verifyTls });
        discard(res);
        const challenge = res.status === 401 ? preferredChallenge(parseChallenges(res.headers['www-authenticate'])) : undefined;
        return { endpoint, challenge };
      } catch (err) {
        lastError = err;
        if (isTimeout(err)) break;
      }
    }
    this.pinged = undefined; // a later call may find the registry up again
    throw lastError instanceof Error ? lastError : systemError(`cannot reach the registry ${this.domain}`);
  }

  /** Takes in a 401's challenge; true when it changes what we would send. */
  private learn(pinged: Pinged, challenge: Challenge): boolean {
    const current = pinged.challenge;
    let changed = false;
    if (current === undefined || current.scheme !== challenge.scheme || current.params.realm !== challenge.params.realm) {
      pinged.challenge = challenge;
      changed = true;
    }
    if (challenge.scheme === 'bearer' && challenge.params.scope !== undefined) {
      const merged = mergeScopes([...this.scopes, ...challenge.params.scope.split(' ')]);
      if (merged.join(' ') !== this.scopes.join(' ')) {
        this.scopes.splice(0, this.scopes.length, ...merged);
        changed = true;
      }
    }
    return changed;
  }

  private async authorization(pinged: Pinged, context: string): Promise<{ header: string; tokenKey?: string } | undefined> {
    const challenge = pinged.challenge;
    if (challenge === undefined) return undefined;
    if (challenge.scheme === 'basic') {
      const header = this.basicHeader();
      return header === undefined ? undefined : { header };
    }
    const given = this.credentials?.registrytoken;
    if (given !== undefined && given !== '') return { header: `Bearer ${given}` };
    const request = { challenge, scopes: this.scopes, credentials: this.credentials, verifyTls: (u: URL) => this.verifyTlsFor(u), context };
    const token = await obtainToken(this.deps.http, this.deps.tokens, request);
    return { header: `Bearer ${token.token}`, tokenKey: tokenKey(request) };
  }

  private basicHeader(): string | undefined {
    const basic = basicCredentials(this.credentials);
    return basic === undefined ? undefined : `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
  }

  /** A token realm on an insecure registry's host is not certificate-checked either. */
  private verifyTlsFor(url: URL): boolean {
    return !this.deps.insecure.allows(url.host);
  }
}

/**
 * Scopes with their actions merged per resource, sorted: `repository:a:pull` +
 * `repository:a:push` -> `repository:a:pull,push`.
 */
export function mergeScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const last = scope.lastIndexOf(':');
    if (scope === '' || last <= 0) continue;
    const resource = scope.slice(0, last);
    const actions = byResource.get(resource) ?? new Set<string>();
    for (const a of scope.slice(last + 1).split(',')) if (a !== '') actions.add(a);
    byResource.set(resource, actions);
  }
  return [...byResource.entries()].map(([resource, actions]) => `${resource}:${[...actions].sort().join(',')}`).sort();
}
