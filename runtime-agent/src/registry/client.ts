import { invalid } from '../errors.js';
import { RegistryConnection, type ConnectionDeps } from './connection.js';
import { InsecureRegistries, loginDomain } from './endpoints.js';
import { DEFAULT_TIMEOUTS, HttpTransport, type HttpTimeouts } from './http.js';
import { RegistrySession } from './session.js';
import { TokenCache } from './token.js';
import type { RegistryClient, RegistryCredentials, RepositoryLocation, RepositorySession } from './types.js';

/**
 * berthd's RegistryClient (see types.ts for the contract). One per daemon: it owns the
 * keep-alive connections and the token cache that every pull, push and login shares.
 *
 *   const registry = createRegistryClient({ insecureRegistries: config.insecureRegistries });
 *   const session = registry.open({ domain: '127.0.0.1:5000', path: 'team/app' }, creds, ['pull']);
 *   const manifest = await session.getManifest('v1');
 */
export interface RegistryClientOptions {
  /** `--insecure-registry` values (`host[:port]`); loopback registries are always insecure. */
  readonly insecureRegistries?: readonly string[];
  /** Overrides the timeouts (tests use short ones). */
  readonly timeouts?: Partial<HttpTimeouts>;
}

export interface BerthRegistryClient extends RegistryClient {
  /** Token requests made so far (tests count them). */
  readonly tokenRequests: number;
  /** Closes idle connections (daemon shutdown). */
  close(): void;
}

export function createRegistryClient(opts: RegistryClientOptions = {}): BerthRegistryClient {
  const deps: ConnectionDeps = {
    http: new HttpTransport({ ...DEFAULT_TIMEOUTS, ...opts.timeouts }),
    tokens: new TokenCache(),
    insecure: new InsecureRegistries(opts.insecureRegistries ?? []),
  };
  return {
    get tokenRequests() {
      return deps.tokens.requests;
    },

    open(location: RepositoryLocation, credentials: RegistryCredentials | undefined, actions: readonly ('pull' | 'push')[], mountFrom: readonly string[] = []): RepositorySession {
      if (location.domain === '' || location.path === '') throw invalid(`invalid repository "${location.domain}/${location.path}"`);
      // Push implies pull (HEAD before upload, mounts, reading back the manifest).
      const wanted = actions.includes('push') ? ['pull', 'push'] : ['pull'];
      const scopes = [`repository:${location.path}:${wanted.join(',')}`, ...mountFrom.filter((p) => p !== location.path).map((p) => `repository:${p}:pull`)];
      return new RegistrySession(location, new RegistryConnection(deps, location.domain, credentials, scopes));
    },

    async login(credentials: RegistryCredentials): Promise<{ identityToken?: string }> {
      const domain = loginDomain(credentials.serveraddress);
      return new RegistryConnection(deps, domain, credentials, []).login();
    },

    close(): void {
      deps.http.close();
    },
  };
}
