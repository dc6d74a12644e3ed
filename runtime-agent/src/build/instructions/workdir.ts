import { posix } from 'node:path';
import { isBerthError } from '../../errors.js';
import type { ConfinedTree } from '../../files/types.js';
import type { Instruction } from '../dockerfile/types.js';
import { expanderFor } from '../expansion.js';
import { nopCmd, type StepContext } from '../step.js';
import { layerStep } from './layer-step.js';
import { normalizeWorkdir } from './metadata.js';

/**
 * WORKDIR: the stage's working directory (relative paths join the current one), created in
 * the image as Docker's ContainerCreateWorkdir does (missing directories 0755, root), so the
 * step has a layer unless the directory was already there. History: `#(nop) WORKDIR /app`.
 */
export async function dispatchWorkdir(ctx: StepContext, instruction: Instruction): Promise<void> {
  const expand = expanderFor(ctx.state.expansionEnv(), ctx.escape);
  const dir = normalizeWorkdir(ctx.state.config.WorkingDir ?? '', expand.word(instruction.args[0] ?? ''));
  ctx.state.config.WorkingDir = dir;
  const cmd = nopCmd(ctx.state, `WORKDIR ${dir}`, true);
  await layerStep(ctx, cmd, (tree) => makeDirectories(tree, dir));
}

async function makeDirectories(tree: ConfinedTree, dir: string): Promise<void> {
  let path = '';
  for (const part of dir.split('/').filter((p) => p !== '')) {
    path = posix.join(path === '' ? '/' : path, part);
    const exists = await tree.stat(path).then(
      () => true,
      (err: unknown) => {
        if (isBerthError(err, 'not-found')) return false;
        throw err;
      },
    );
    if (!exists) await tree.mkdir(path, 0o755);
  }
}
