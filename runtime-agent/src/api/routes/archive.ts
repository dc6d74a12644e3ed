import { pipeline } from 'node:stream/promises';
import { archiveContainerPath, extractToContainer, statContainerPath } from '../../containers/files/archive.js';
import { commitContainer, parseCommitConfig } from '../../containers/files/commit.js';
import { exportContainer } from '../../containers/files/export.js';
import type { ContainerService } from '../../containers/service.js';
import { messageOf } from '../../errors.js';
import { pathStatHeader } from '../../files/path-stat.js';
import type { ImageService } from '../../images/index.js';
import { familiarString, repoTagReference } from '../../images/reference.js';
import { log } from '../../log.js';
import type { NativeAddon } from '../../native/addon-api.js';
import { boolParam } from '../query.js';
import type { RequestContext, Router } from '../router.js';

/**
 * A container's files through the Docker Engine API:
 *
 *   HEAD /containers/{id}/archive?path=      stat (X-Docker-Container-Path-Stat)
 *   GET  /containers/{id}/archive?path=      the stat header + a tar of the path
 *   PUT  /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=   extract a tar
 *   GET  /containers/{id}/export             the root filesystem as a tar
 *   POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=    201 {"Id"}
 *
 * Streams flow both ways with backpressure; a client that goes away mid-transfer ends the read
 * and the container's filesystem is released.
 */
export function registerArchiveRoutes(router: Router, containers: ContainerService, images: ImageService, addon: NativeAddon): void {
  const STAT_HEADER = 'X-Docker-Container-Path-Stat';

  router.head('/containers/:id/archive', async (ctx) => {
    const ref = ctx.params.id as string;
    const info = await statContainerPath(containers.ctx, containers.get(ref), ref, ctx.query.get('path') ?? '');
    ctx.res.writeHead(200, { [STAT_HEADER]: pathStatHeader(info), 'Content-Type': 'application/json' }).end();
  });

  router.get('/containers/:id/archive', async (ctx) => {
    const ref = ctx.params.id as string;
    const { info, stream } = await archiveContainerPath(containers.ctx, containers.get(ref), ref, ctx.query.get('path') ?? '');
    ctx.res.writeHead(200, { [STAT_HEADER]: pathStatHeader(info), 'Content-Type': 'application/x-tar' });
    await sendStream(ctx, () => pipeline(stream, ctx.res), 'archive');
  });

  router.put('/containers/:id/archive', async (ctx) => {
    const ref = ctx.params.id as string;
    await extractToContainer(containers.ctx, containers.get(ref), ref, ctx.query.get('path') ?? '', ctx.req, {
      noOverwriteDirNonDir: boolParam(ctx.query, 'noOverwriteDirNonDir'),
      copyUIDGID: boolParam(ctx.query, 'copyUIDGID'),
    });
    ctx.res.writeHead(200, { 'Content-Length': 0 }).end();
  });

  router.get('/containers/:id/export', async (ctx) => {
    const c = containers.get(ctx.params.id as string);
    let begun = false;
    await sendStream(
      ctx,
      () =>
        exportContainer(containers.ctx, c, ctx.res, () => {
          begun = true;
          ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        }),
      'export',
      () => begun,
    );
  });

  router.post('/commit', async (ctx) => {
    const c = containers.get(ctx.query.get('container') ?? '');
    const ref = repoTagReference(ctx.query.get('repo') ?? '', ctx.query.get('tag') ?? '');
    const config = parseCommitConfig(await ctx.json<unknown>());
    const id = await commitContainer(containers.ctx, c, images, addon, {
      config,
      changes: ctx.query.getAll('changes'),
      author: ctx.query.get('author') ?? '',
      comment: ctx.query.get('comment') ?? '',
      // Docker pauses unless told not to (API >= 1.13).
      pause: boolParam(ctx.query, 'pause', true),
      ref,
      refName: ref !== undefined ? familiarString(ref) : '',
    });
    const body = JSON.stringify({ Id: id });
    ctx.res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
  });
}

/**
 * Runs a streamed response. Before the head goes out an error is an ordinary error status;
 * after it (the client went away, the disk failed) the status is gone: the connection is
 * cut so the client sees a truncated stream, and the failure is logged, not raised again.
 */
async function sendStream(ctx: RequestContext, run: () => Promise<void>, what: string, begun: () => boolean = () => true): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!begun() && !ctx.res.headersSent) throw err;
    if (!ctx.res.destroyed) ctx.res.destroy();
    log.debug('api.stream-ended', { what, error: messageOf(err) });
  }
}
