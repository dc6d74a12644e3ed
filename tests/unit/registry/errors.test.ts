import { describe, expect, it } from 'vitest';
import { registryError } from '../../../runtime-agent/src/registry/errors.js';

const body = (...errors: { code: string; message: string }[]): string => JSON.stringify({ errors });

describe('registry errors in Docker words', () => {
  it('maps the distribution error codes to BerthError codes', () => {
    const cases: [number, string, string, string][] = [
      [401, body({ code: 'UNAUTHORIZED', message: 'authentication required' }), 'unauthorized', 'unauthorized: authentication required'],
      [403, body({ code: 'DENIED', message: 'requested access to the resource is denied' }), 'forbidden', 'denied: requested access to the resource is denied'],
      [404, body({ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }), 'not-found', 'manifest unknown: manifest unknown'],
      [404, body({ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }), 'not-found', 'name unknown: repository name not known to registry'],
      [404, body({ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }), 'not-found', 'blob unknown: blob unknown to registry'],
      [400, body({ code: 'MANIFEST_INVALID', message: 'manifest invalid' }), 'invalid-parameter', 'manifest invalid: manifest invalid'],
      [400, body({ code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry' }), 'invalid-parameter', 'manifest blob unknown: blob unknown to registry'],
      [429, body({ code: 'TOOMANYREQUESTS', message: 'too many requests' }), 'system', 'toomanyrequests: too many requests'],
      [401, '{"details":"incorrect username or password"}', 'unauthorized', 'unauthorized: incorrect username or password'],
      [401, '', 'unauthorized', 'unauthorized: authentication required'],
      [403, '<html>', 'forbidden', 'denied: requested access to the resource is denied'],
      [502, 'Bad Gateway', 'system', 'received unexpected HTTP status: 502 Bad Gateway'],
    ];
    for (const [status, text, code, message] of cases) {
      const err = registryError(status, text);
      expect({ code: err.code, message: err.message }, text).toEqual({ code, message });
    }
  });

  it('lists several errors and puts a prefix before the wording', () => {
    const err = registryError(400, body({ code: 'DIGEST_INVALID', message: 'a' }, { code: 'SIZE_INVALID', message: 'b' }), 'pushing: ');
    expect(err.message).toBe('pushing: errors:\ndigest invalid: a\nsize invalid: b');
    expect(err.code).toBe('invalid-parameter');
  });
});
