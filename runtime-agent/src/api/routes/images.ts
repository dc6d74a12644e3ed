import type { ServerResponse } from 'node:http';
import { invalid, messageOf, notFound } from '../../errors.js';
import type { ImageService } from '../../images/index.js';
import { LIST_FILTERS } from '../../images/list.js';
import { familiarName, parseNormalizedNamed } from '../../images/reference.js';
import { parseTimestamp } from '../../images/timestamp.js';
import { boolParam, matchLabels, parseFilters, type Filters } from '../query.js';
import type { RequestContext, Router } from '../router.js';
import { JsonMessageStream } from '../stream.js';

/**
 * The Docker Engine API's image endpoints (v1.43), over ImageService:
 *
 *   GET    /images/json                 list            POST /images/create   import | pull (404)
 *   GET    /images/{name}/json          inspect         POST /images/load     load (JSON stream)
 *   GET    /images/{name}/history       history         GET  /images/get      save several
 *   POST   /images/{name}/tag           tag (201)       GET  /images/{name}/get  save one
 *   DELETE /images/{name}               rmi             POST /images/prune    prune
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
      const ref = parseNormalizedNamed(fromImage.replace(/:$/, ''));
      throw notFound(
        `pull access denied for ${familiarName(ref)}: pulling from registries is not supported yet; use docker load or docker import`,
      );
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
