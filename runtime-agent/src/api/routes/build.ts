import type { BuildRequest } from '../../build/builder.js';
import type { BuildService } from '../../build/service.js';
import { invalid, notImplemented } from '../../errors.js';
import { parseTimestamp } from '../../images/timestamp.js';
import { boolParam, matchLabels, parseFilters } from '../query.js';
import type { RequestContext, Router } from '../router.js';
import { JsonMessageStream } from '../stream.js';

/**
 * The classic builder's endpoints (Docker Engine API v1.43), over BuildService:
 *
 *   POST /build         the body is the context tar; query: dockerfile, t (repeated), buildargs
 *                       and labels (JSON objects), target, nocache, pull, q, networkmode;
 *                       the output is a JSON message stream ending with the image ID (aux)
 *   POST /build/prune   all, filters until (unused-for), label, label! (the cached image's
 *                       labels): {"CachesDeleted": [...], "SpaceReclaimed": n}
 *
 * The 200 head goes out with the first message: a context that is not a tar, a Dockerfile
 * that cannot be found or parsed, or a bad tag is an ordinary 400. BuildKit (version=2) and
 * remote contexts are refused. A client that goes away cancels the build.
 */
export function registerBuildRoutes(router: Router, builds: BuildService): void {
  router.post('/build', async (ctx) => build(ctx, builds));

  router.post('/build/prune', async (ctx) => {
    const filters = parseFilters(ctx.query, ['until', 'unused-for', 'label', 'label!']);
    const untilValues = [...(filters.get('until') ?? []), ...(filters.get('unused-for') ?? [])];
    const until = untilValues.length > 0 ? Math.min(...untilValues.map((v) => parseTimestamp(v))) : undefined;
    const wanted = filters.get('label') ?? [];
    const unwanted = filters.get('label!') ?? [];
    const labels = (l: Readonly<Record<string, string>>): boolean => matchLabels(l, wanted) && !unwanted.some((u) => matchLabels(l, [u]));
    const report = await builds.prune({
      all: boolParam(ctx.query, 'all'),
      ...(until !== undefined ? { until } : {}),
      ...(wanted.length + unwanted.length > 0 ? { labels } : {}),
    });
    const body = JSON.stringify(report);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
  });
}

async function build(ctx: RequestContext, builds: BuildService): Promise<void> {
  const req = buildRequest(ctx.query);
  let stream: JsonMessageStream | undefined;
  const out = (): JsonMessageStream => (stream ??= JsonMessageStream.begin(ctx.res));
  const gone = new AbortController();
  const onClose = (): void => {
    if (!ctx.res.writableFinished) gone.abort();
  };
  ctx.res.on('close', onClose);
  try {
    await builds.build(ctx.req, req, boolParam(ctx.query, 'q'), { send: (message) => out().write({ ...message }) }, gone.signal);
  } finally {
    ctx.res.off('close', onClose);
  }
  out().end();
}

function buildRequest(query: URLSearchParams): BuildRequest {
  const version = query.get('version') ?? '1';
  if (version === '2') throw notImplemented('BuildKit is not supported by berthd: build with the classic builder (DOCKER_BUILDKIT=0)');
  if (version !== '1') throw invalid(`invalid version "${version}"`);
  if ((query.get('remote') ?? '') !== '') throw notImplemented('remote build contexts are not supported by berthd: send the context in the request body');
  const platform = query.get('platform') ?? '';
  if (platform !== '' && !/^linux(\/|$)/.test(platform)) throw invalid(`unsupported platform "${platform}": berthd builds linux images`);
  return {
    dockerfile: query.get('dockerfile') ?? '',
    tags: query.getAll('t'),
    buildArgs: new Map(Object.entries(jsonObject<string | null>(query, 'buildargs', 'build args', (v) => v === null || typeof v === 'string'))),
    labels: jsonObject<string>(query, 'labels', 'labels', (v) => typeof v === 'string'),
    target: query.get('target') ?? '',
    noCache: boolParam(query, 'nocache'),
    pull: boolParam(query, 'pull'),
    networkMode: query.get('networkmode') ?? '',
  };
}

function jsonObject<T>(query: URLSearchParams, name: string, what: string, valid: (v: unknown) => boolean): Record<string, T> {
  const raw = query.get(name) ?? '';
  if (raw === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw invalid(`error reading ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every(valid)) {
    throw invalid(`error reading ${what}: expected a JSON object of strings`);
  }
  return parsed as Record<string, T>;
}
