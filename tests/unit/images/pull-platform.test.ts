import { describe, expect, it } from 'vitest';
import type { Digest } from '../../../runtime-agent/src/images/digest.js';
import type { Descriptor } from '../../../runtime-agent/src/images/oci.js';
import { formatPlatform, normalizePlatform, parsePlatformParam, selectManifest } from '../../../runtime-agent/src/images/platform.js';

function entry(n: number, architecture: string, variant?: string, os = 'linux'): Descriptor {
  return {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}` as Digest,
    size: 100,
    platform: { os, architecture, ...(variant !== undefined ? { variant } : {}) },
  };
}

describe('platform selection', () => {
  it('parses the platform parameter and normalises it as containerd does', () => {
    expect(parsePlatformParam('')).toBeUndefined();
    expect(parsePlatformParam('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatformParam('linux/aarch64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatformParam('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatformParam('linux/arm/v6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(() => parsePlatformParam('windows/amd64')).toThrow(/not supported/);
    expect(() => parsePlatformParam('linux//x')).toThrow(/unknown operating system or architecture/);
    expect(formatPlatform(normalizePlatform({ os: 'linux', architecture: 'arm64' }))).toBe('linux/arm64/v8');
  });

  it('picks the entry for each platform and nothing for a missing one', () => {
    const list = [entry(1, 'amd64'), entry(2, 'arm64', 'v8'), entry(3, 'arm', 'v7'), entry(4, 'unknown', undefined, 'unknown')];
    expect(selectManifest(list, { os: 'linux', architecture: 'amd64' })?.digest).toBe(list[0]?.digest);
    expect(selectManifest(list, { os: 'linux', architecture: 'arm64' })?.digest).toBe(list[1]?.digest);
    expect(selectManifest(list, { os: 'linux', architecture: 'arm', variant: 'v7' })?.digest).toBe(list[2]?.digest);
    expect(selectManifest(list, { os: 'linux', architecture: 'arm', variant: 'v6' })).toBeUndefined();
    expect(selectManifest(list, { os: 'linux', architecture: 's390x' })).toBeUndefined();
  });

  it('treats arm64 without a variant as v8 and prefers the exact amd64 entry', () => {
    expect(selectManifest([entry(5, 'arm64')], { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest).toBe(entry(5, 'arm64').digest);
    const amd = [entry(6, 'amd64', 'v3'), entry(7, 'amd64')];
    expect(selectManifest(amd, { os: 'linux', architecture: 'amd64' })?.digest).toBe(amd[1]?.digest);
    expect(selectManifest(amd, { os: 'linux', architecture: 'amd64', variant: 'v3' })?.digest).toBe(amd[0]?.digest);
  });
});
