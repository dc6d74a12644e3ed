import type { ContainerService } from '../containers/service.js';
import type { Digest } from '../images/digest.js';
import type { ImageService } from '../images/service.js';
import type { NativeAddon } from '../native/addon-api.js';
import type { DataLayout } from '../store/layout.js';
import type { BuildFilesDeps } from './files/index.js';
import type { BuildContext } from './files/types.js';
import { cacheKey, type BuildCache } from './cache.js';
import type { BuildOutput } from './output.js';
import type { StageState } from './state.js';
import { createStepImage } from './step-image.js';

/** The daemon's parts a build uses. */
export interface BuilderDeps {
  readonly layout: DataLayout;
  readonly addon: NativeAddon;
  readonly images: ImageService;
  readonly containers: ContainerService;
  readonly cache: BuildCache;
  readonly files: BuildFilesDeps;
}

/** What one build stage's instructions run against. */
export interface StepContext {
  readonly deps: BuilderDeps;
  readonly state: StageState;
  readonly out: BuildOutput;
  readonly context: BuildContext;
  /** The Dockerfile's escape character (expansions). */
  readonly escape: string;
  readonly noCache: boolean;
  /** RUN containers' network (`--network`; Docker's default bridge). */
  readonly networkMode: string;
  /** Finished stages by name (lower-cased) and by index: `COPY --from`, `FROM <stage>`. */
  readonly stages: StageResults;
  readonly signal: AbortSignal;
}

export interface StageResult {
  readonly imageId: string | undefined;
  readonly config: StageState['config'];
}

export interface StageResults {
  readonly byName: Map<string, StageResult>;
  readonly byIndex: StageResult[];
}

/**
 * One step through the build cache: its key is the parent image, the step as history
 * records it (`cmd`, joined) and the config it leaves (state.config, already changed by the
 * instruction). A hit prints ` ---> Using cache` and moves the stage onto the cached image;
 * a miss runs `make` (which makes the step's image) and records it. `--no-cache` skips the
 * look-up but still records, so a later build can use what this one made.
 */
export async function cachedStep(ctx: StepContext, cmd: readonly string[], make: () => Promise<Digest>): Promise<void> {
  const key = cacheKey({ parent: ctx.state.imageId, createdBy: cmd.join(' '), config: ctx.state.config });
  if (!ctx.noCache) {
    const hit = await ctx.deps.cache.lookup(key, (id) => ctx.deps.images.store.get(id as Digest) !== undefined);
    if (hit !== undefined) {
      ctx.out.line(' ---> Using cache');
      ctx.state.imageId = hit;
      return;
    }
  }
  const id = await make();
  await ctx.deps.cache.record(key, id);
  ctx.state.imageId = id;
}

/** The `#(nop)` Cmd of a step that runs nothing (moby's withCmdComment / withCmdCommentString). */
export function nopCmd(state: StageState, comment: string, singleArg = false): string[] {
  return singleArg ? [...state.shell, `#(nop) ${comment}`] : [...state.shell, '#(nop) ', comment];
}

/** A metadata-only step (ENV, LABEL, CMD...): a new image config, no layer, no container. */
export async function commitMetadata(ctx: StepContext, comment: string): Promise<void> {
  const cmd = nopCmd(ctx.state, comment);
  await cachedStep(ctx, cmd, () =>
    createStepImage(ctx.deps.images.store, {
      parent: ctx.state.imageId as Digest | undefined,
      layer: undefined,
      config: ctx.state.config,
      cmd,
      author: ctx.state.author,
    }),
  );
}
