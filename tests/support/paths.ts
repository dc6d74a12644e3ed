import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: the nearest ancestor of this module whose package.json is the `berth`
 * workspace root. Found by walking up, so the helpers also work when compiled elsewhere
 * (bench/run.sh compiles them into .tmp/bench/).
 */
export const REPO_ROOT: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; workspaces?: unknown };
      if (parsed.name === 'berth' && Array.isArray(parsed.workspaces)) return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no berth package.json above ${start}`);
  }
}

/** `npx berthd`'s entry point ($BERTH_TEST_BERTHD overrides it) and the daemon it imports. */
export const BERTHD_BIN = process.env.BERTH_TEST_BERTHD ?? join(REPO_ROOT, 'runtime-agent', 'bin', 'berthd.js');
export const BERTHD_MAIN =
  process.env.BERTH_TEST_BERTHD ?? join(REPO_ROOT, 'runtime-agent', 'dist', 'main.js');

/** The docker CLI the tests drive: $BERTH_TEST_DOCKER, else the 28.x CLI, else PATH's. */
export const DOCKER_CLI: string =
  process.env.BERTH_TEST_DOCKER ?? (existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : 'docker');
