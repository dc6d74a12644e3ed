import type { ConfinedTree } from '../../files/types.js';
import type { Digest } from '../../images/digest.js';
import type { Image } from '../../images/types.js';
import { openScratchLayer } from '../image-filesystem.js';
import { cachedStep, type StepContext } from '../step.js';
import { createStepImage } from '../step-image.js';

/**
 * A step that changes files without running anything (COPY, ADD, WORKDIR): unless cached, a
 * scratch writable layer over the current image, `write` into it, and its diff committed as
 * the step's image. The layer is released whatever happens.
 */
export async function layerStep(ctx: StepContext, cmd: readonly string[], write: (tree: ConfinedTree, parent: Image | undefined) => Promise<void>): Promise<void> {
  await cachedStep(ctx, cmd, async () => {
    const parent = ctx.state.imageId !== undefined ? await ctx.deps.images.byId(ctx.state.imageId) : undefined;
    const layer = await openScratchLayer(ctx.deps, parent?.layers ?? []);
    try {
      await write(layer.tree, parent);
      const tar = await layer.diff();
      try {
        return await createStepImage(ctx.deps.images.store, {
          parent: parent?.id as Digest | undefined,
          layer: tar,
          config: ctx.state.config,
          cmd,
          author: ctx.state.author,
        });
      } finally {
        tar.destroy();
      }
    } finally {
      await layer.release();
    }
  });
}
