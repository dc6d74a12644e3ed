import { invalid, isBerthError } from '../../errors.js';
import type { Image, ImageRuntimeConfig } from '../../images/types.js';
import type { BuildOutput } from '../output.js';
import type { BuilderDeps, StageResult, StageResults } from '../step.js';

/**
 * What FROM and `COPY --from` start from: an earlier stage (by name; COPY also by index),
 * `scratch` (FROM only: no image, no layers), or an image: the local one unless `--pull`
 * asks for the registry's, pulled (its progress in the build output) when it is not here.
 */
export interface BaseImage {
  /** undefined: `scratch`, or a stage that made no image. */
  readonly id: string | undefined;
  readonly config: ImageRuntimeConfig;
  readonly image: Image | undefined;
}

export const SCRATCH = 'scratch';

export async function resolveImage(deps: BuilderDeps, name: string, pull: boolean, out: BuildOutput): Promise<Image> {
  if (!pull) {
    try {
      return await deps.images.resolve(name);
    } catch (err) {
      if (!isBerthError(err, 'not-found')) throw err;
    }
  }
  return deps.images.pull(name, { sink: out.progress });
}

export async function resolveBase(deps: BuilderDeps, name: string, stages: StageResults, pull: boolean, out: BuildOutput): Promise<BaseImage> {
  if (name === '') throw invalid('base name should not be blank');
  const stage = stages.byName.get(name.toLowerCase());
  if (stage !== undefined) return fromStage(deps, stage);
  if (name === SCRATCH) return { id: undefined, config: {}, image: undefined };
  const image = await resolveImage(deps, name, pull, out);
  return { id: image.id, config: image.config, image };
}

/** `COPY --from=<name|index|image>`. */
export async function resolveCopyFrom(deps: BuilderDeps, from: string, stages: StageResults, out: BuildOutput): Promise<BaseImage> {
  const stage = stages.byName.get(from.toLowerCase());
  if (stage !== undefined) return fromStage(deps, stage);
  if (/^\d+$/.test(from)) {
    const index = Number(from);
    const indexed = stages.byIndex[index];
    if (indexed === undefined) {
      throw invalid(`invalid from flag value ${from}: ${index === stages.byIndex.length ? 'refers to current build stage' : 'index out of bounds'}`);
    }
    return fromStage(deps, indexed);
  }
  try {
    const image = await resolveImage(deps, from, false, out);
    return { id: image.id, config: image.config, image };
  } catch (err) {
    if (isBerthError(err)) throw invalid(`invalid from flag value ${from}: ${err.message}`, err);
    throw err;
  }
}

async function fromStage(deps: BuilderDeps, stage: StageResult): Promise<BaseImage> {
  const image = stage.imageId !== undefined ? await deps.images.byId(stage.imageId) : undefined;
  if (stage.imageId !== undefined && image === undefined) throw invalid(`the image of an earlier stage (${stage.imageId}) was removed during the build`);
  return { id: stage.imageId, config: stage.config, image };
}
