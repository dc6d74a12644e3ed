import type { ServerResponse } from 'node:http';
import { invalid, messageOf, notImplemented } from '../../errors.js';
import { parseDigest } from '../../images/digest.js';
import type { ImageService } from '../../images/index.js';
import { LIST_FILTERS } from '../../images/list.js';
import { parsePlatformParam } from '../../images/platform.js';
import type { ProgressSink } from '../../images/progress-types.js';
import { familiarName, parseNormalizedNamed, refString, withTag } from '../../images/reference.js';
import { decodeRegistryAuth } from '../../registry/credentials.js';
import { parseTimestamp } from '../../images/timestamp.js';
import { boolParam, matchLabels, parseFilters, type Filters } from '../query.js';
import type { RequestContext, Router } from '../router.js';
import { JsonMessageStream } from '../stream.js';

/**
 * The Docker Engine API's image endpoints (v1.43), over ImageService:
 *
 *   GET    /images/json                 list            POST /images/create   import | pull
 *   GET    /images/{name}/json          inspect         POST /images/load     load (JSON stream)
 *   GET    /images/{name}/history       history         GET  /images/get      save several
 *   POST   /images/{name}/tag           tag (201)       GET  /images/{name}/get  save one
 *   DELETE /images/{name}               rmi             POST /images/prune    prune
 *   POST   /images/{name}/push          push (JSON stream)
 *
 * Streamed responses (load, import) send their 200 head only with the first message, so a
 * failure before it is an ordinary error status; after it, the error goes in-band as Docker
 * sends it.
 */
export function registerImageRoutes(router: Router, images: ImageService): void {
  router.get('/images/json', async (ctx) => {
    const filters = parseFilters(ctx.query, LIST_FILTERS);
    const list = images.list({
      all: boolParam(ctx.query, 'all'),
      filters,
      sharedSize: boolParam(ctx.query, 'shared-size'),
      labels: labelPredicate(filters),
      apiVersion: ctx.apiVersion,
    });
    sendJson(ctx.res, 200, list);
  });

  router.post('/images/create', async (ctx) => {
    const fromImage = ctx.query.get('fromImage') ?? '';
    const fromSrc = ctx.query.get('fromSrc') ?? '';
    if (fromImage !== '') {
      await pull(ctx, images, fromImage);
      return;
    }
    if (fromSrc === '') throw invalid('either fromImage (pull) or fromSrc (import) is required');
    const id = await images.import(ctx.req, {
      src: fromSrc,
      repo: ctx.query.get('repo') ?? '',
      tag: ctx.query.get('tag') ?? '',
      message: ctx.query.get('message') ?? '',
      changes: ctx.query.getAll('changes'),
      platform: ctx.query.get('platform') ?? '',
    });
    const stream = JsonMessageStream.begin(ctx.res);
    stream.status(id);
    stream.end();
  });

  router.post('/images/load', async (ctx) => {
    const out = new LazyStream(ctx.res);
    try {
      await images.load(ctx.req, boolParam(ctx.query, 'quiet'), {
        progress: (message) => out.get().write(message),
        line: (text) => out.get().stream(`${text}\n`),
      });
    } catch (err) {
      if (!out.begun) throw err;
      out.get().error(messageOf(err));
    }
    out.get().end();
  });

  router.get('/images/get', async (ctx) => save(ctx, images, ctx.query.getAll('names')));
  router.get('/images/:name*/get', async (ctx) => save(ctx, images, [ctx.params.name as string]));

  router.get('/images/:name*/json', async (ctx) => {
    sendJson(ctx.res, 200, images.inspect(ctx.params.name as string));
  });

  router.get('/images/:name*/history', async (ctx) => {
    sendJson(ctx.res, 200, images.history(ctx.params.name as string));
  });

  router.post('/images/:name*/push', async (ctx) => push(ctx, images));

  router.post('/images/:name*/tag', async (ctx) => {
    await images.tag(ctx.params.name as string, ctx.query.get('repo') ?? '', ctx.query.get('tag') ?? '');
    ctx.res.writeHead(201).end();
  });

  router.delete('/images/:name*', async (ctx) => {
    const items = await images.remove(ctx.params.name as string, {
      force: boolParam(ctx.query, 'force'),
      noprune: boolParam(ctx.query, 'noprune'),
    });
    sendJson(ctx.res, 200, items);
  });

  router.post('/images/prune', async (ctx) => {
    const filters = parseFilters(ctx.query, ['dangling', 'until', 'label', 'label!']);
    const dangling = filters.get('dangling');
    const until = filters.get('until') ?? [];
    if (until.length > 1) throw invalid('more than one until filter specified');
    const report = await images.prune({
      danglingOnly: dangling === undefined || dangling.length === 0 ? true : danglingValue(dangling[dangling.length - 1] as string),
      ...(until[0] !== undefined ? { until: parseTimestamp(until[0]) } : {}),
      labels: labelPredicate(filters),
    });
    sendJson(ctx.res, 200, report);
  });
}

/**
 * `docker pull`: `fromImage` names the repository (maybe with a tag or digest), `tag` a tag
 * or a digest that overrides it; neither means every tag (`docker pull --all-tags`), which
 * berthd does not do. Credentials come in `X-Registry-Auth`, the platform in `platform`. A
 * client that goes away cancels the pull.
 */
async function pull(ctx: RequestContext, images: ImageService, fromImage: string): Promise<void> {
  const reference = pullTarget(fromImage, ctx.query.get('tag') ?? '');
  const platform = parsePlatformParam(ctx.query.get('platform') ?? '');
  const credentials = decodeRegistryAuth(ctx.req.headers['x-registry-auth']);
  await streamProgress(ctx, (sink, signal) =>
    images.pull(reference, {
      ...(credentials !== undefined ? { credentials } : {}),
      ...(platform !== undefined ? { platform } : {}),
      sink,
      signal,
    }),
  );
}

/**
 * Runs a long registry operation with its progress as Docker's JSON message stream. An error
 * before the first message is a plain HTTP error (the CLI prints it); after it, the error goes
 * in the stream. A client that goes away aborts the operation.
 */
async function streamProgress(ctx: RequestContext, run: (sink: ProgressSink, signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const out = new LazyStream(ctx.res);
  const gone = new AbortController();
  const onClose = (): void => {
    if (!ctx.res.writableFinished) gone.abort(new Error('the client closed the connection'));
  };
  ctx.res.on('close', onClose);
  try {
    await run({ send: (message) => out.get().write({ ...message }) }, gone.signal);
  } catch (err) {
    if (!out.begun) throw err;
    out.get().error(messageOf(err));
  } finally {
    ctx.res.off('close', onClose);
  }
  out.get().end();
}

function pullTarget(fromImage: string, tag: string): string {
  const ref = parseNormalizedNamed(fromImage.replace(/:$/, ''));
  if (tag !== '') {
    const bare = { domain: ref.domain, path: ref.path };
    return refString(/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:/.test(tag) ? { ...bare, digest: parseDigest(tag) } : withTag(bare, tag));
  }
  if (ref.tag === undefined && ref.digest === undefined) {
    throw notImplemented(`pulling every tag of ${familiarName(ref)} (--all-tags) is not supported by berthd: name a tag or a digest`);
  }
  return refString(ref);
}

/**
 * `docker push`: `{name}` is the repository (or `name:tag`), `tag` the tag; without one, every
 * tag of the repository (`docker push -a`). Credentials come in `X-Registry-Auth`. Nothing to
 * push is a 404 before the stream starts; a client that goes away cancels the uploads.
 */
async function push(ctx: RequestContext, images: ImageService): Promise<void> {
  const credentials = decodeRegistryAuth(ctx.req.headers['x-registry-auth']);
  await streamProgress(ctx, (sink, signal) =>
    images.push(ctx.params.name as string, ctx.query.get('tag') ?? '', {
      ...(credentials !== undefined ? { credentials } : {}),
      sink,
      signal,
    }),
  );
}

async function save(ctx: RequestContext, images: ImageService, names: readonly string[]): Promise<void> {
  const plan = images.planSave(names);
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await images.writeSave(plan, ctx.res);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** `label` (all must match) and `label!` (none may match all) filters as one predicate. */
function labelPredicate(filters: Filters): ((labels: Readonly<Record<string, string>>) => boolean) | undefined {
  const want = filters.get('label') ?? [];
  const not = filters.get('label!') ?? [];
  if (want.length === 0 && not.length === 0) return undefined;
  return (labels) => matchLabels(labels, want) && (not.length === 0 || !matchLabels(labels, not));
}

function danglingValue(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(`invalid filter 'dangling=${value}'`);
}

/** A JSON message stream whose 200 head goes out with the first message. */
class LazyStream {
  private stream: JsonMessageStream | undefined;

  constructor(private readonly res: ServerResponse) {}

  get begun(): boolean {
    return this.stream !== undefined;
  }

  get(): JsonMessageStream {
    this.stream ??= JsonMessageStream.begin(this.res);
    return this.stream;
  }
}
