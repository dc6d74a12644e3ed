import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { knownKeys } from '../../../electron/main/engine/known-hosts.js';

function hashed(name: string): string {
  const salt = Buffer.from('0123456789abcdefghij');
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts lookup', () => {
  const text = [
    '# comment',
    'build.example,10.0.0.5 ssh-ed25519 KEYA',
    '[build.example]:2222 ssh-ed25519 KEYB',
    `${hashed('hashed.example')} ssh-ed25519 KEYC`,
    `${hashed('[hashed.example]:2200')} ecdsa-sha2-nistp256 KEYD`,
    '@revoked build.example ssh-ed25519 KEYE',
    '@cert-authority *.example ssh-ed25519 KEYF',
    '',
  ].join('\n');

  it('finds plain, comma-listed and [host]:port names', () => {
    expect(knownKeys(text, 'build.example', 22)).toEqual(['KEYA']);
    expect(knownKeys(text, '10.0.0.5', 22)).toEqual(['KEYA']);
    expect(knownKeys(text, 'build.example', 2222)).toEqual(['KEYB']);
  });

  it('finds hashed names', () => {
    expect(knownKeys(text, 'hashed.example', 22)).toEqual(['KEYC']);
    expect(knownKeys(text, 'hashed.example', 2200)).toEqual(['KEYD']);
  });

  it('trusts no marker line and nothing for unknown hosts or ports', () => {
    expect(knownKeys(text, 'other.example', 22)).toEqual([]);
    expect(knownKeys(text, 'build.example', 2200)).toEqual([]);
    expect(knownKeys(text, 'x.example', 22)).toEqual([]);
  });
});
