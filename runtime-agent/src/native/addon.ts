import { createRequire } from 'node:module';
import { errnoCode, messageOf, systemError } from '../errors.js';
import type { NativeAddon } from './addon-api.js';
import { addonPath } from './paths.js';

let loaded: NativeAddon | undefined;

/**
 * The N-API addon (mount, umount2, mknod, xattrs), loaded on first use. Throws a `system`
 * BerthError saying how to build it when it is missing.
 */
export function loadAddon(): NativeAddon {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    loaded = require(addonPath) as NativeAddon;
  } catch (err) {
    const missing = errnoCode(err) === 'MODULE_NOT_FOUND' || errnoCode(err) === 'ENOENT';
    throw systemError(
      missing
        ? `berthd's native addon is not built (${addonPath}): run npm install`
        : `cannot load berthd's native addon ${addonPath}: ${messageOf(err)} (rebuild it: npm install)`,
      err,
    );
  }
  return loaded;
}
