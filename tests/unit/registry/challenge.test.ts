import { describe, expect, it } from 'vitest';
import { parseChallenges, preferredChallenge } from '../../../runtime-agent/src/registry/challenge.js';

describe('WWW-Authenticate parsing', () => {
  it('reads a Bearer challenge with quoted parameters', () => {
    const [c] = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
    expect(c).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    });
  });

  it('reads several challenges, unquoted values and escapes, and prefers Bearer', () => {
    const challenges = parseChallenges('Basic realm="Registry \\"Realm\\"", Bearer realm=https://t.example/token, error="insufficient_scope"');
    expect(challenges).toEqual([
      { scheme: 'basic', params: { realm: 'Registry "Realm"' } },
      { scheme: 'bearer', params: { realm: 'https://t.example/token', error: 'insufficient_scope' } },
    ]);
    expect(preferredChallenge(challenges)?.scheme).toBe('bearer');
    expect(preferredChallenge(parseChallenges(['Negotiate abc', 'BASIC realm="x"']))?.scheme).toBe('basic');
    expect(preferredChallenge(parseChallenges(undefined))).toBeUndefined();
  });
});
