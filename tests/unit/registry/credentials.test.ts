import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { basicCredentials, credentialsKey, decodeRegistryAuth, parseAuthConfig } from '../../../runtime-agent/src/registry/credentials.js';

const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return isBerthError(err) ? `${err.code}: ${err.message}` : 'not a BerthError';
  }
  return 'no error';
};

describe('X-Registry-Auth', () => {
  it('decodes base64url JSON as the docker CLI sends it, and standard base64 as dockerode does', () => {
    const json = JSON.stringify({ username: 'me', password: 'p>?>?', serveraddress: '127.0.0.1:5000' });
    const url = Buffer.from(json).toString('base64url');
    const std = Buffer.from(json).toString('base64');
    expect(url).not.toBe(std); // the password's bytes make the alphabets differ
    const want = { username: 'me', password: 'p>?>?', serveraddress: '127.0.0.1:5000' };
    expect(decodeRegistryAuth(url)).toEqual(want);
    expect(decodeRegistryAuth(std)).toEqual(want);
    expect(decodeRegistryAuth([url])).toEqual(want);
  });

  it('is anonymous when absent, empty or {} (the CLI sends e30=)', () => {
    expect(decodeRegistryAuth(undefined)).toBeUndefined();
    expect(decodeRegistryAuth('')).toBeUndefined();
    expect(decodeRegistryAuth('e30=')).toBeUndefined();
    expect(decodeRegistryAuth(Buffer.from('{"serveraddress":"x"}').toString('base64url'))).toBeUndefined();
  });

  it('refuses a malformed header with a 400', () => {
    for (const bad of ['not base64!', Buffer.from('not json').toString('base64'), Buffer.from('[1]').toString('base64'), Buffer.from('{"password":5}').toString('base64')]) {
      expect(failure(() => decodeRegistryAuth(bad)), bad).toMatch(/^invalid-parameter: invalid X-Registry-Auth header/);
    }
  });
});

describe('AuthConfig', () => {
  it('keeps the known string fields and drops empty ones', () => {
    expect(parseAuthConfig({ username: 'u', password: '', email: 'e@x', identitytoken: 't', registrytoken: null })).toEqual({ username: 'u', identitytoken: 't' });
    expect(failure(() => parseAuthConfig('x'))).toBe('invalid-parameter: invalid auth config: expected a JSON object');
  });

  it('takes username and password from the fields or from `auth`', () => {
    expect(basicCredentials({ username: 'u', password: 'p' })).toEqual({ username: 'u', password: 'p' });
    expect(basicCredentials({ auth: Buffer.from('u:p:with:colons').toString('base64') })).toEqual({ username: 'u', password: 'p:with:colons' });
    expect(basicCredentials({ identitytoken: 't' })).toBeUndefined();
    expect(basicCredentials(undefined)).toBeUndefined();
  });

  it('keys cached tokens by the whole credentials, never by the username alone', () => {
    expect(credentialsKey({ username: 'u', password: 'a' })).not.toBe(credentialsKey({ username: 'u', password: 'b' }));
    expect(credentialsKey({ username: 'u', password: 'a' })).toBe(credentialsKey({ auth: Buffer.from('u:a').toString('base64') }));
    expect(credentialsKey(undefined)).toBe(credentialsKey({}));
  });
});
