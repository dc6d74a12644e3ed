import { isAbsolute } from 'node:path';
import { invalid } from '../errors.js';
import { parseMountOptions } from './mount-options.js';

/**
 * The local driver's options (`docker volume create -o`), checked as moby's local driver
 * checks them at create:
 *
 *   type     the filesystem type for mount(2): tmpfs, none (with o=bind), nfs, ext4...
 *   device   what to mount: `tmpfs`, a host path for binds, `:/export` for nfs, /dev/sdb1...
 *   o        mount(8) options, e.g. `size=64m,uid=1000`, `bind`, `addr=10.0.0.2,rw`
 *   size     a quota (moby needs xfs project quotas; berthd has none: only 0 passes)
 *
 * `device` needs `type` and the reverse; `o` needs both. Whether the device exists is a
 * mount-time question (as in Docker: `docker volume create` succeeds, the container start
 * using it fails), except that a bind's device must be an absolute path.
 */
const KNOWN = new Set(['type', 'o', 'device', 'size']);
const REQUIRES: Readonly<Record<string, readonly string[]>> = {
  device: ['type'],
  type: ['device'],
  o: ['device', 'type'],
};

export function validateDriverOptions(name: string, opts: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(opts)) {
    if (!KNOWN.has(key)) throw invalid(`create ${name}: invalid option: ${JSON.stringify(key)} (the local driver takes type, device, o and size)`);
    if (typeof value !== 'string') throw invalid(`create ${name}: option ${JSON.stringify(key)} must be a string`);
  }
  for (const [key, needed] of Object.entries(REQUIRES)) {
    if (opts[key] === undefined) continue;
    for (const other of needed) {
      if (opts[other] === undefined) throw invalid(`create ${name}: missing required option: ${JSON.stringify(other)}`);
    }
  }
  const size = opts.size;
  if (size !== undefined && parseSize(name, size) > 0) {
    throw invalid(`create ${name}: quota size requested but no quota support (the size option needs project quotas, which berthd does not provide; for tmpfs use -o o=size=${size})`);
  }
  const parsed = parseMountOptions(opts.o ?? '');
  const device = opts.device ?? '';
  if ((parsed.flags & 0x1000) !== 0 && !isAbsolute(device)) {
    throw invalid(`create ${name}: a bind volume's device must be an absolute host path, got ${JSON.stringify(device)}`);
  }
}

/** go-units RAMInBytes: `512`, `64k`, `10m`, `1.5g`, `1gb` (binary multiples). */
function parseSize(name: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(value.trim());
  if (!m) throw invalid(`create ${name}: invalid size: '${value}'`);
  const power = ' kmgtp'.indexOf((m[2] ?? '').toLowerCase() || ' ');
  return Number(m[1]) * 1024 ** power;
}
