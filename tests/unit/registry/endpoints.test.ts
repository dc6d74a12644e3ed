import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../runtime-agent/src/config.js';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { endpointsFor, InsecureRegistries, loginDomain, parseInsecureRegistry } from '../../../runtime-agent/src/registry/endpoints.js';
import { mergeScopes } from '../../../runtime-agent/src/registry/connection.js';

const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return isBerthError(err) ? `${err.code}: ${err.message}` : 'not a BerthError';
  }
  return 'no error';
};

const urls = (domain: string, insecure = new InsecureRegistries()): string[] =>
  endpointsFor(domain, insecure).map((e) => `${e.base.origin}${e.verifyTls ? '' : ' (no verify)'}`);

describe('registry endpoints', () => {
  it('sends docker.io to registry-1.docker.io over verified https only', () => {
    expect(urls('docker.io')).toEqual(['https://registry-1.docker.io']);
    expect(urls('index.docker.io')).toEqual(['https://registry-1.docker.io']);
    expect(urls('registry.example.com:5000')).toEqual(['https://registry.example.com:5000']);
  });

  it('tries https (unverified) then http for loopback and --insecure-registry hosts', () => {
    for (const host of ['127.0.0.1:5000', '127.8.9.1', 'localhost:5000', '[::1]:5000']) {
      const [https, http] = urls(host);
      expect(https, host).toMatch(/^https:\/\/.* \(no verify\)$/);
      expect(http, host).toMatch(/^http:\/\//);
    }
    const insecure = new InsecureRegistries(['registry.lan:5000', 'anyport.lan']);
    expect(urls('registry.lan:5000', insecure)).toEqual(['https://registry.lan:5000 (no verify)', 'http://registry.lan:5000 (no verify)']);
    expect(urls('registry.lan:5001', insecure)).toEqual(['https://registry.lan:5001']);
    expect(urls('anyport.lan:7000', insecure)).toHaveLength(2);
    expect(urls('128.0.0.1:5000')).toEqual(['https://128.0.0.1:5000']);
  });

  it('reads the registry a docker login names', () => {
    expect(loginDomain(undefined)).toBe('docker.io');
    expect(loginDomain('https://index.docker.io/v1/')).toBe('docker.io');
    expect(loginDomain('127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(loginDomain('http://127.0.0.1:5000/')).toBe('127.0.0.1:5000');
    expect(loginDomain('registry.lan/team')).toBe('registry.lan');
    expect(failure(() => loginDomain('bad host!'))).toMatch(/^invalid-parameter: invalid registry address "bad host!"/);
  });

  it('parses --insecure-registry, repeatable, and refuses schemes and paths', () => {
    const config = parseConfig(['--insecure-registry', 'Registry.LAN:5000', '--insecure-registry', '10.0.0.7']);
    expect(config === 'help' ? undefined : config.insecureRegistries).toEqual(['registry.lan:5000', '10.0.0.7']);
    const plain = parseConfig([]);
    expect(plain === 'help' ? undefined : plain.insecureRegistries).toEqual([]);
    for (const bad of ['http://x:5000', 'x:5000/path', 'x:99999', 'x:', '']) {
      expect(failure(() => parseInsecureRegistry(bad)), bad).toMatch(/^invalid-parameter: --insecure-registry must be host\[:port\]/);
    }
  });

  it('merges scopes per repository', () => {
    expect(mergeScopes(['repository:b:push', 'repository:a:pull', 'repository:b:pull', 'repository:b:push'])).toEqual([
      'repository:a:pull',
      'repository:b:pull,push',
    ]);
  });
});
