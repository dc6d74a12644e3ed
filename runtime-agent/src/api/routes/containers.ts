import { invalid } from '../../errors.js';
import type { ImageProvider } from '../../images/types.js';
import { attachContainer } from '../../containers/attach.js';
import { listContainers } from '../../containers/list.js';
import { logFiles, rotationOptions } from '../../containers/logs/json-file.js';
import { parseLogTime, parseTail } from '../../containers/logs/read.js';
import { streamLogs } from '../../containers/logs/stream.js';
import type { CreateRequest } from '../../containers/create.js';
import type { ContainerService } from '../../containers/service.js';
import { inspectView, summaryView } from '../../containers/view.js';
import { parseWaitCondition } from '../../containers/waiters.js';
import { boolParam, intParam, matchLabels, parseFilters } from '../query.js';
import type { RequestContext, Router } from '../router.js';
import { terminalSize } from './exec.js';

function sendJson(ctx: RequestContext, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  ctx.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  ctx.res.end(body);
}

function noContent(ctx: RequestContext): void {
  ctx.res.writeHead(204).end();
}

/** Docker's stop/restart `t` (seconds); absent means the container's own timeout. */
function timeoutParam(ctx: RequestContext): number | undefined {
  return intParam(ctx.query, 't') ?? intParam(ctx.query, 'timeout');
}

/** The container routes of the Docker Engine API. */
export function registerContainerRoutes(router: Router, containers: ContainerService, images: ImageProvider): void {
  router.post('/containers/create', async (ctx) => {
    const c = await containers.create(ctx.query.get('name'), await ctx.json<CreateRequest>());
    sendJson(ctx, 201, { Id: c.Id, Warnings: [] });
  });

  router.get('/containers/json', async (ctx) => {
    const limit = intParam(ctx.query, 'limit');
    const list = await listContainers(containers.all(), images, (ref) => containers.find(ref), {
      all: boolParam(ctx.query, 'all'),
      limit: limit !== undefined && limit > 0 ? limit : undefined,
      query: ctx.query,
    });
    sendJson(ctx, 200, list.map((c) => summaryView(c, containers.ctx.networks)));
  });

  router.get('/containers/:id/json', async (ctx) => {
    const c = containers.get(ctx.params.id as string);
    sendJson(ctx, 200, inspectView(containers.ctx, c, await images.byId(c.Image)));
  });

  router.post('/containers/:id/start', async (ctx) => {
    await containers.start(ctx.params.id as string);
    noContent(ctx);
  });

  router.post('/containers/:id/stop', async (ctx) => {
    await containers.stop(ctx.params.id as string, timeoutParam(ctx), ctx.query.get('signal') ?? undefined);
    noContent(ctx);
  });

  router.post('/containers/:id/restart', async (ctx) => {
    await containers.restart(ctx.params.id as string, timeoutParam(ctx), ctx.query.get('signal') ?? undefined);
    noContent(ctx);
  });

  router.post('/containers/:id/kill', async (ctx) => {
    await containers.kill(ctx.params.id as string, ctx.query.get('signal'));
    noContent(ctx);
  });

  router.post('/containers/:id/pause', async (ctx) => {
    await containers.pause(ctx.params.id as string);
    noContent(ctx);
  });

  router.post('/containers/:id/unpause', async (ctx) => {
    await containers.unpause(ctx.params.id as string);
    noContent(ctx);
  });

  router.post('/containers/:id/resize', async (ctx) => {
    const { rows, cols } = terminalSize(ctx);
    containers.resize(ctx.params.id as string, rows, cols);
    ctx.res.writeHead(200).end();
  });

  router.post('/containers/:id/update', async (ctx) => {
    const warnings = await containers.update(ctx.params.id as string, await ctx.json<unknown>());
    sendJson(ctx, 200, { Warnings: warnings });
  });

  router.post('/containers/:id/rename', async (ctx) => {
    await containers.rename(ctx.params.id as string, ctx.query.get('name'));
    noContent(ctx);
  });

  router.delete('/containers/:id', async (ctx) => {
    // `v`: the container's anonymous volumes go with it (`docker rm -v`).
    await containers.remove(ctx.params.id as string, boolParam(ctx.query, 'force'), boolParam(ctx.query, 'v'));
    noContent(ctx);
  });

  router.post('/containers/:id/wait', async (ctx) => {
    const condition = parseWaitCondition(ctx.query.get('condition'));
    const { result, cancel } = containers.wait(ctx.params.id as string, condition);
    // Headers go at once: the CLI registers its wait before it starts the container.
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    ctx.res.once('close', cancel);
    const outcome = await result;
    ctx.res.end(JSON.stringify(outcome) + '\n');
  });

  router.get('/containers/:id/logs', async (ctx) => {
    const c = containers.get(ctx.params.id as string);
    const stdout = boolParam(ctx.query, 'stdout');
    const stderr = boolParam(ctx.query, 'stderr');
    if (!stdout && !stderr) throw invalid('Bad parameters: you must choose at least one stream');
    const files = logFiles(containers.logPath(c), rotationOptions(c.HostConfig.LogConfig).maxFiles);
    await streamLogs(ctx.res, files, containers.currentHub(c), {
      stdout,
      stderr,
      since: parseLogTime(ctx.query.get('since'), 'since'),
      until: parseLogTime(ctx.query.get('until'), 'until'),
      tail: parseTail(ctx.query.get('tail')),
      follow: boolParam(ctx.query, 'follow'),
      timestamps: boolParam(ctx.query, 'timestamps'),
      tty: c.Config.Tty === true,
    });
  });

  router.hijack('POST', '/containers/:id/attach', async (stream) => {
    const c = containers.get(stream.params.id as string);
    await attachContainer(containers, c, stream);
  });

  router.post('/containers/prune', async (ctx) => {
    const filters = parseFilters(ctx.query, ['label', 'label!', 'until']);
    const until = filters.get('until')?.[0];
    let untilMs: number | undefined;
    if (until !== undefined) {
      untilMs = /^\d+(\.\d+)?$/.test(until) ? Number(until) * 1000 : Date.parse(until);
      if (Number.isNaN(untilMs)) throw invalid(`invalid filter 'until=${until}'`);
    }
    const { removed, spaceReclaimed } = await containers.prune((c) => {
      const labels = c.Config.Labels ?? {};
      if (filters.has('label') && !matchLabels(labels, filters.get('label') ?? [])) return false;
      if (filters.has('label!') && (filters.get('label!') ?? []).some((l) => matchLabels(labels, [l]))) return false;
      if (untilMs !== undefined && Date.parse(c.Created) >= untilMs) return false;
      return true;
    });
    sendJson(ctx, 200, { ContainersDeleted: removed, SpaceReclaimed: spaceReclaimed });
  });
}
