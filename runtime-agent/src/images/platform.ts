import { invalid } from '../errors.js';
import type { Platform } from '../registry/types.js';
import { hostArchitecture } from './image-config.js';
import type { Descriptor } from './oci.js';

/**
 * Platforms as pull selects them from a manifest list or OCI index (containerd's platforms
 * package, which Docker uses): `os/arch[/variant]`, normalised so that `aarch64` is `arm64`
 * (variant `v8` when none is given), `x86_64` is `amd64`, `armhf` is `arm/v7`. An entry
 * matches when os and architecture are equal and its variant is one the wanted platform can
 * run (arm64: none or v8; amd64: none or v1 unless a variant is asked for; arm: that variant
 * or an older one); the best match is the most specific variant the platform runs.
 */
const ARCH_ALIASES: Readonly<Record<string, { architecture: string; variant?: string }>> = {
  aarch64: { architecture: 'arm64' },
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  i386: { architecture: '386' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
};

/** The platform berthd runs: linux and the host's architecture (arm64 as variant v8). */
export function hostPlatform(): Platform {
  return normalizePlatform({ os: 'linux', architecture: hostArchitecture() });
}

export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  const alias = ARCH_ALIASES[p.architecture.toLowerCase()];
  const architecture = alias?.architecture ?? p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() ?? alias?.variant;
  if (variant === '') variant = undefined;
  if (architecture === 'arm64' && variant === undefined) variant = 'v8';
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  return variant !== undefined ? { os, architecture, variant } : { os, architecture };
}

/**
 * The `platform` query parameter (`linux/arm64`, `linux/arm/v7`): undefined when empty (the
 * host's platform applies). Only linux images run here, so any other os is refused.
 */
export function parsePlatformParam(value: string): Platform | undefined {
  if (value.trim() === '') return undefined;
  const parts = value.trim().split('/');
  const [os, architecture, variant] = parts;
  if (parts.length > 3 || os === undefined || os === '' || parts.some((p) => p === '')) {
    throw invalid(`"${value}": unknown operating system or architecture: invalid argument`);
  }
  if (os.toLowerCase() !== 'linux') throw invalid(`operating system is not supported: "${os}" (berthd runs linux images)`);
  const arch = architecture ?? hostArchitecture();
  return normalizePlatform(variant !== undefined ? { os, architecture: arch, variant } : { os, architecture: arch });
}

/** `linux/arm64/v8`, `linux/amd64` (containerd's FormatAll). */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant !== undefined ? [p.variant] : [])].join('/');
}

/** Variants a platform runs, best first; undefined stands for "no variant given". */
function runnableVariants(p: Platform): readonly (string | undefined)[] {
  const v = p.variant;
  switch (p.architecture) {
    case 'arm64':
      return ['v8', undefined];
    case 'arm': {
      const order = ['v8', 'v7', 'v6', 'v5'];
      const from = Math.max(0, order.indexOf(v ?? 'v7'));
      return order.slice(from);
    }
    case 'amd64':
      return v === undefined || v === 'v1' ? [undefined, 'v1'] : [v, undefined, 'v1'];
    default:
      return v === undefined ? [undefined] : [v, undefined];
  }
}

/** The manifest in a list that best suits `wanted`, or undefined when none does. */
export function selectManifest(entries: readonly Descriptor[], wanted: Platform): Descriptor | undefined {
  const want = normalizePlatform(wanted);
  const variants = runnableVariants(want);
  let best: { entry: Descriptor; rank: number } | undefined;
  for (const entry of entries) {
    const p = entry.platform;
    if (p?.os === undefined || p.architecture === undefined) continue;
    const have = normalizePlatform({ os: p.os, architecture: p.architecture, ...(p.variant !== undefined ? { variant: p.variant } : {}) });
    if (have.os !== want.os || have.architecture !== want.architecture) continue;
    // arm64 and arm entries without a variant were normalised to v8 / v7 above.
    const rank = variants.indexOf(have.variant);
    if (rank < 0) continue;
    if (best === undefined || rank < best.rank) best = { entry, rank };
  }
  return best?.entry;
}
