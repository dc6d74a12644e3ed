import { resolveUser } from '../../containers/user.js';
import { invalid } from '../../errors.js';
import type { Image } from '../../images/types.js';
import type { Instruction } from '../dockerfile/types.js';
import { expanderFor } from '../expansion.js';
import { planCopy } from '../files/index.js';
import type { CopySource } from '../files/types.js';
import { openImageView, type ImageView } from '../image-filesystem.js';
import { nopCmd, type StepContext } from '../step.js';
import { resolveCopyFrom } from './from.js';
import { layerStep } from './layer-step.js';

/**
 * COPY and ADD (moby's performCopy): the sources and destination expanded, the copy planned
 * (build/files: what matches, its content hash, ADD's archives and URLs), then through the
 * cache with Docker's history entry `/bin/sh -c #(nop) COPY [--chown=u ]file:<sha256> in /dest `
 * — so an unchanged file hits and any change to a copied file misses. On a miss the plan is
 * applied to a scratch layer over the stage's image and that layer committed.
 *
 * `--from` reads a finished stage (name or index) or an image; `--chown` is resolved against
 * the stage's own /etc/passwd and /etc/group (a lone user also names the group, as Docker);
 * `--chmod` (octal) applies to everything copied.
 */
export async function dispatchCopy(ctx: StepContext, instruction: Instruction): Promise<void> {
  const add = instruction.keyword === 'ADD';
  const expand = expanderFor(ctx.state.expansionEnv(), ctx.escape);
  const words = instruction.json ? instruction.args.map((a) => expand.word(a)) : expand.words(instruction.args[0] ?? '');
  const dest = words.pop();
  if (dest === undefined || words.length === 0) throw invalid(`${instruction.keyword} requires at least two arguments`);
  const chown = instruction.flags.chown !== undefined ? expand.word(instruction.flags.chown) : '';
  const chmodText = instruction.flags.chmod !== undefined ? expand.word(instruction.flags.chmod) : '';
  if (chmodText !== '' && !/^[0-7]{1,4}$/.test(chmodText)) throw invalid(`invalid --chmod value "${chmodText}": use an octal mode such as 755`);
  const from = instruction.flags.from ?? '';
  if (add && from !== '') throw invalid('ADD does not support --from: use COPY --from');

  let view: ImageView | undefined;
  try {
    let source: CopySource = { kind: 'context', context: ctx.context };
    if (from !== '') {
      const base = await resolveCopyFrom(ctx.deps, from, ctx.stages, ctx.out);
      view = await openImageView(ctx.deps, base.image?.layers ?? []);
      source = { kind: 'tree', tree: view.tree, name: from };
    }
    const plan = await planCopy(
      { add, sources: words, dest, workdir: ctx.state.config.WorkingDir || '/', ...(chmodText !== '' ? { chmod: parseInt(chmodText, 8) } : {}) },
      source,
      ctx.deps.files,
    );
    try {
      const flags = `${chown !== '' ? `--chown=${chown} ` : ''}${chmodText !== '' ? `--chmod=${chmodText} ` : ''}`;
      const cmd = nopCmd(ctx.state, `${instruction.keyword} ${flags}${plan.cacheKey} in ${dest} `, true);
      await layerStep(ctx, cmd, async (tree, parent) => {
        // `COPY --from` without --chown keeps the source's owners (moby's preserveOwnership).
        const owner = chown !== '' ? await ownerOf(chown, parent) : from !== '' ? 'source' : undefined;
        await plan.apply(tree, owner);
      });
    } finally {
      await plan.dispose();
    }
  } finally {
    await view?.release();
  }
}

/** `--chown=user[:group]` against the target image's files; numbers need no files. */
async function ownerOf(chown: string, image: Image | undefined): Promise<{ uid: number; gid: number }> {
  const [user = '', group] = chown.split(':', 2);
  const dirs = [...(image?.layers ?? [])].reverse().map((l) => l.dir);
  const resolved = await resolveUser(`${user}:${group !== undefined && group !== '' ? group : user}`, dirs);
  return { uid: resolved.uid, gid: resolved.gid };
}
