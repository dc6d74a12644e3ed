import { BerthError, invalid, isBerthError } from '../errors.js';
import { shortId } from '../images/digest.js';
import { familiarName, familiarString, parseNormalizedNamed, refString, tagNameOnly, type ImageReference } from '../images/reference.js';
import { log } from '../log.js';
import { BuildArgs } from './args.js';
import { parseInstruction } from './dockerfile/instruction.js';
import { parseDockerfile } from './dockerfile/parse.js';
import type { Instruction, Stage } from './dockerfile/types.js';
import { expanderFor } from './expansion.js';
import type { BuildContext } from './files/types.js';
import { dispatchCopy } from './instructions/copy.js';
import { resolveBase } from './instructions/from.js';
import { dispatchMetadata } from './instructions/metadata.js';
import { dispatchRun, RunFailedError } from './instructions/run.js';
import { dispatchWorkdir } from './instructions/workdir.js';
import type { BuildOutput } from './output.js';
import { StageState } from './state.js';
import type { BuilderDeps, StageResults, StepContext } from './step.js';

/**
 * The classic builder (moby's builder/dockerfile): the Dockerfile parsed, the stages up to
 * `--target` run in order, each instruction a step (`Step n/N : ...`) that goes through the
 * build cache and ends on an image (` ---> <id>`), the final stage's image tagged. Earlier
 * stages are only images in the cache: nothing of theirs reaches the final image unless
 * `COPY --from` copies it. `--label`s become LABEL steps at the end of the built stage.
 */
export interface BuildRequest {
  /** `-f`, relative to the context ('' = Dockerfile). */
  readonly dockerfile: string;
  readonly tags: readonly string[];
  /** `--build-arg`s; null: given without a value and unset in the client's environment. */
  readonly buildArgs: ReadonlyMap<string, string | null>;
  readonly labels: Readonly<Record<string, string>>;
  readonly target: string;
  readonly noCache: boolean;
  readonly pull: boolean;
  /** RUN containers' network ('' or `default`: the default bridge). */
  readonly networkMode: string;
}

/** A step that failed, with the Dockerfile line (and RUN's exit code) for the message. */
export class BuildStepError extends BerthError {
  constructor(
    cause: BerthError,
    line: number,
    readonly exitCode: number | undefined,
  ) {
    super(cause.code, `${cause.message} (Dockerfile line ${line})`, cause);
  }
}

export async function runBuild(deps: BuilderDeps, context: BuildContext, req: BuildRequest, out: BuildOutput, signal: AbortSignal): Promise<string> {
  const started = Date.now();
  const refs = tagReferences(req.tags);
  const dockerfile = parseDockerfile(await context.readDockerfile(req.dockerfile));
  const stages = stagesToBuild(dockerfile.stages, req.target);
  const last = stages[stages.length - 1] as Stage;
  const labelSteps = labelInstructions(req.labels, last);
  const total = dockerfile.metaArgs.length + stages.reduce((n, s) => n + 1 + s.instructions.length, 0) + labelSteps.length;
  let step = 1;

  const args = BuildArgs.forBuild(req.buildArgs);
  for (const meta of dockerfile.metaArgs) {
    out.step(step++, total, meta.original);
    try {
      // Every word sees the values from before the instruction, as Docker's processMetaArg.
      const expand = expanderFor(args.metaValues(), dockerfile.escape);
      for (const word of meta.args) {
        const { key, value } = expand.arg(word);
        args.declareMeta(key, value);
      }
    } catch (err) {
      throw withLine(err, meta);
    }
  }

  const results: StageResults = { byName: new Map(), byIndex: [] };
  let imageId: string | undefined;
  for (const stage of stages) {
    out.step(step++, total, stage.from.original);
    const state = await beginStage(deps, stage, args, results, req, out, dockerfile.escape);
    const ctx: StepContext = { deps, state, out, context, escape: dockerfile.escape, noCache: req.noCache, networkMode: networkOf(req.networkMode), stages: results, signal };
    await runTriggers(ctx, stage.from.line);
    out.image(state.imageId);
    const instructions = stage === last ? [...stage.instructions, ...labelSteps] : stage.instructions;
    for (const instruction of instructions) {
      if (signal.aborted) throw invalid('the build was cancelled');
      out.step(step++, total, instruction.original);
      await runStep(ctx, instruction);
      out.image(state.imageId);
    }
    if (state.imageId !== undefined) out.aux(state.imageId);
    const result = { imageId: state.imageId, config: state.config };
    if (stage.name !== undefined) results.byName.set(stage.name, result);
    results.byIndex.push(result);
    imageId = state.imageId;
  }
  const unused = args.unused();
  if (unused.length > 0) out.line(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`);
  if (imageId === undefined) throw invalid('No image was generated. Is your Dockerfile empty?');

  out.line(`Successfully built ${shortId(imageId)}`);
  for (const ref of refs) {
    await deps.images.tag(imageId, familiarName(ref), ref.tag ?? 'latest');
    out.line(`Successfully tagged ${familiarString(ref)}`);
  }
  log.info('build.done', { id: imageId, steps: total, tags: refs.map(familiarString).join(' '), ms: Date.now() - started });
  return imageId;
}

/** `-t` values as Docker's sanitizeRepoAndTags: `:latest` added, digests refused, duplicates dropped. */
function tagReferences(tags: readonly string[]): ImageReference[] {
  const seen = new Map<string, ImageReference>();
  for (const tag of tags) {
    if (tag === '') continue;
    const ref = parseNormalizedNamed(tag);
    if (ref.digest !== undefined) throw invalid('build tag cannot contain a digest');
    const tagged = tagNameOnly(ref);
    seen.set(refString(tagged), tagged);
  }
  return [...seen.values()];
}

function stagesToBuild(stages: readonly Stage[], target: string): readonly Stage[] {
  if (target === '') return stages;
  const index = stages.findIndex((s) => s.name === target.toLowerCase());
  if (index < 0) throw invalid(`target stage "${target}" could not be found`);
  return stages.slice(0, index + 1);
}

/** `--label k=v` as LABEL steps (sorted by key), never expanded: each value single-quoted. */
function labelInstructions(labels: Readonly<Record<string, string>>, stage: Stage): Instruction[] {
  const quote = (s: string): string => `'${s.replace(/'/g, `'"'"'`)}'`;
  const line = stage.instructions[stage.instructions.length - 1]?.line ?? stage.from.line;
  return Object.keys(labels)
    .sort()
    .map((key) => ({
      keyword: 'LABEL' as const,
      line,
      original: `LABEL ${JSON.stringify(key)}='${labels[key] ?? ''}'`,
      flags: {},
      args: [`${quote(key)}=${quote(labels[key] ?? '')}`],
      json: false,
    }));
}

async function beginStage(
  deps: BuilderDeps,
  stage: Stage,
  args: BuildArgs,
  results: StageResults,
  req: BuildRequest,
  out: BuildOutput,
  escape: string,
): Promise<StageState> {
  try {
    const name = expanderFor(args.metaValues(), escape).word(stage.from.args[0] ?? '');
    const base = await resolveBase(deps, name, results, req.pull, out);
    return new StageState(stage.name, base, args.forStage());
  } catch (err) {
    throw withLine(err, stage.from);
  }
}

/** ONBUILD triggers of the base image run first, then leave the stage's config. */
async function runTriggers(ctx: StepContext, line: number): Promise<void> {
  const triggers = ctx.state.config.OnBuild ?? [];
  if (triggers.length === 0) return;
  ctx.state.config.OnBuild = null;
  ctx.out.line(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}`);
  for (const trigger of triggers) {
    const instruction = parseInstruction(trigger, line, ctx.escape);
    if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(instruction.keyword)) throw invalid(`${instruction.keyword} isn't allowed as an ONBUILD trigger`);
    await runStep(ctx, instruction);
  }
}

async function runStep(ctx: StepContext, instruction: Instruction): Promise<void> {
  try {
    switch (instruction.keyword) {
      case 'RUN':
        return await dispatchRun(ctx, instruction);
      case 'COPY':
      case 'ADD':
        return await dispatchCopy(ctx, instruction);
      case 'WORKDIR':
        return await dispatchWorkdir(ctx, instruction);
      case 'FROM':
        throw invalid('FROM starts a stage; it cannot be a step');
      default:
        return await dispatchMetadata(ctx, instruction);
    }
  } catch (err) {
    throw withLine(err, instruction);
  }
}

function withLine(err: unknown, instruction: Instruction): unknown {
  if (err instanceof BuildStepError || !isBerthError(err)) return err;
  return new BuildStepError(err, instruction.line, err instanceof RunFailedError ? err.exitCode : undefined);
}

function networkOf(mode: string): string {
  return mode === '' || mode === 'default' ? 'bridge' : mode;
}
