import { fileURLToPath } from 'node:url';

/**
 * Where `make -C runtime-agent/native` (run by `npm install`) puts berthd's native pieces.
 * Resolved from this module's own file, so the same relative path holds from `src/native/`
 * (vitest, tsx) and from `dist/native/` (after tsc):
 *
 *   runtime-agent/
 *   ├── src/native/paths.ts  ─┐
 *   ├── dist/native/paths.js ─┴─ ../../native/build/
 *   └── native/build/
 *       ├── berth-helper         the process helper (docs/helper-protocol.md)
 *       └── berth_native.node    the N-API addon (addon-api.ts)
 */
export const nativeBuildDir: string = fileURLToPath(new URL('../../native/build/', import.meta.url));

export const helperPath: string = fileURLToPath(new URL('../../native/build/berth-helper', import.meta.url));

export const addonPath: string = fileURLToPath(new URL('../../native/build/berth_native.node', import.meta.url));
