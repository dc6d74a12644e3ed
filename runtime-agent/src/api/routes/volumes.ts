import { LIST_FILTERS, PRUNE_FILTERS } from '../../volumes/filters.js';
import type { CreateVolumeRequest, VolumeService } from '../../volumes/service.js';
import { boolParam, parseFilters } from '../query.js';
import type { RequestContext, Router } from '../router.js';

/**
 * The Docker Engine API's volume endpoints (v1.43), over VolumeService:
 *
 *   GET    /volumes                 {Volumes, Warnings} (filters: dangling, name, driver, label)
 *   POST   /volumes/create          201 the volume (idempotent by name)
 *   GET    /volumes/{name}          inspect
 *   DELETE /volumes/{name}?force=   204; 409 in use; 404 missing (unless force)
 *   POST   /volumes/prune           {VolumesDeleted, SpaceReclaimed} (filters: label, label!, all)
 */
function sendJson(ctx: RequestContext, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  ctx.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  ctx.res.end(body);
}

export function registerVolumeRoutes(router: Router, volumes: VolumeService): void {
  router.get('/volumes', async (ctx) => {
    const filters = parseFilters(ctx.query, LIST_FILTERS);
    sendJson(ctx, 200, { Volumes: volumes.list(filters), Warnings: [] });
  });

  router.post('/volumes/create', async (ctx) => {
    sendJson(ctx, 201, await volumes.create(await ctx.json<CreateVolumeRequest>()));
  });

  router.post('/volumes/prune', async (ctx) => {
    sendJson(ctx, 200, await volumes.prune(parseFilters(ctx.query, PRUNE_FILTERS)));
  });

  router.get('/volumes/:name', async (ctx) => {
    sendJson(ctx, 200, volumes.inspect(ctx.params.name as string));
  });

  router.delete('/volumes/:name', async (ctx) => {
    await volumes.remove(ctx.params.name as string, boolParam(ctx.query, 'force'));
    ctx.res.writeHead(204).end();
  });
}
