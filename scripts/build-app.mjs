// Builds the app's parts that tsc does not: the preload (one CommonJS file, as a sandboxed
// preload must be) and the renderer (vite). Each is skipped when its output is newer than
// every source it comes from, so `npm start` and `npm test` stay fast.
import { build } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const force = process.argv.includes('--force');

function newest(paths) {
  let t = 0;
  const walk = (p) => {
    const s = statSync(p, { throwIfNoEntry: false });
    if (s === undefined) return;
    if (s.isDirectory()) {
      if (p.endsWith('node_modules') || p.endsWith('dist')) return;
      for (const name of readdirSync(p)) walk(join(p, name));
    } else t = Math.max(t, s.mtimeMs);
  };
  for (const p of paths) walk(join(root, p));
  return t;
}

function stale(output, sources) {
  if (force) return true;
  const out = statSync(join(root, output), { throwIfNoEntry: false });
  return out === undefined || out.mtimeMs < newest(sources);
}

if (stale('electron/dist/preload/preload.cjs', ['electron/preload', 'electron/shared'])) {
  await build({
    entryPoints: [join(root, 'electron/preload/preload.ts')],
    outfile: join(root, 'electron/dist/preload/preload.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    external: ['electron'],
    logLevel: 'warning',
  });
}

if (stale('renderer/dist/index.html', ['renderer/src', 'renderer/index.html', 'renderer/vite.config.ts', 'electron/shared'])) {
  const r = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn', 'renderer'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
