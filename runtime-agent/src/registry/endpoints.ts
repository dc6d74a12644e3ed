import { isIP } from 'node:net';
import { invalid } from '../errors.js';

/**
 * Where berthd talks to a registry, as Docker decides it:
 *
 *   docker.io (and index.docker.io)  -> https://registry-1.docker.io
 *   127.0.0.1:5000, [::1]:5000, localhost:5000, and every --insecure-registry
 *                                     -> https://host (certificate not checked), then http://host
 *   anything else                     -> https://host (certificate checked)
 */
export const DOCKER_HUB_DOMAIN = 'docker.io';
const DOCKER_HUB_HOST = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** One way to reach a registry: its base URL (`https://host:port`) and whether TLS is verified. */
export interface Endpoint {
  readonly base: URL;
  /** False for insecure registries over https: their certificate is not checked. */
  readonly verifyTls: boolean;
}

/** The policy for plain-HTTP registries: loopback always, plus `--insecure-registry` entries. */
export class InsecureRegistries {
  private readonly exact = new Set<string>();
  private readonly anyPort = new Set<string>();

  /** `entries`: `host[:port]` as given to `--insecure-registry` (already validated). */
  constructor(entries: readonly string[] = []) {
    for (const entry of entries) {
      const { hostname, port } = splitHost(entry.toLowerCase());
      if (port === undefined) this.anyPort.add(hostname);
      else this.exact.add(`${hostname}:${port}`);
    }
  }

  /** True when `host` (`host[:port]`) may be reached over plain HTTP. */
  allows(host: string): boolean {
    const { hostname, port } = splitHost(host.toLowerCase());
    if (isLoopback(hostname)) return true;
    return this.anyPort.has(hostname) || (port !== undefined && this.exact.has(`${hostname}:${port}`));
  }
}

/** The endpoints to try for `domain`, in order (https first, as Docker does). */
export function endpointsFor(domain: string, insecure: InsecureRegistries): Endpoint[] {
  const host = DOCKER_HUB_ALIASES.has(domain.toLowerCase()) ? DOCKER_HUB_HOST : domain;
  if (!insecure.allows(host)) return [{ base: new URL(`https://${host}`), verifyTls: true }];
  return [
    { base: new URL(`https://${host}`), verifyTls: false },
    { base: new URL(`http://${host}`), verifyTls: false },
  ];
}

/**
 * The registry a `docker login` names (`serveraddress`): `https://index.docker.io/v1/`, `docker.io`
 * or nothing mean Docker Hub; otherwise the host[:port] of `host`, `https://host/` or `host/path`.
 */
export function loginDomain(serverAddress: string | undefined): string {
  const text = (serverAddress ?? '').trim();
  if (text === '') return DOCKER_HUB_DOMAIN;
  const withoutScheme = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const host = withoutScheme.split('/')[0] ?? '';
  if (host === '' || !validHost(host)) throw invalid(`invalid registry address "${text}": expected host[:port], e.g. 127.0.0.1:5000`);
  return DOCKER_HUB_ALIASES.has(host.toLowerCase()) ? DOCKER_HUB_DOMAIN : host;
}

/** Checks a `--insecure-registry` value: `host[:port]`, no scheme, no path. */
export function parseInsecureRegistry(text: string): string {
  const value = text.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || value.includes('/') || !validHost(value)) {
    throw invalid(`--insecure-registry must be host[:port] (no scheme, no path), e.g. registry.lan:5000, got "${text}"`);
  }
  return value.toLowerCase();
}

function validHost(host: string): boolean {
  const { hostname, port } = splitHost(host);
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) > 0 && Number(port) < 65536)) return false;
  if (isIP(hostname) !== 0) return true;
  return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(hostname);
}

/** `host:port` / `[v6]:port` / `host` -> hostname (v6 without brackets) and port. */
function splitHost(host: string): { hostname: string; port: string | undefined } {
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(host);
  if (v6) return { hostname: v6[1] as string, port: v6[2] };
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && host.indexOf(':') === colon) return { hostname: host.slice(0, colon), port: host.slice(colon + 1) };
  return { hostname: host, port: undefined };
}

function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '::1') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}
