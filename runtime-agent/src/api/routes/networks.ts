import { invalid } from '../../errors.js';
import { parseTimestamp } from '../../images/timestamp.js';
import type { CreateNetworkRequest, NetworkService } from '../../network/service.js';
import type { NetworkRecord } from '../../network/store.js';
import { boolParam, matchLabels, parseFilters, type Filters } from '../query.js';
import type { RequestContext, Router } from '../router.js';

/**
 * The Docker Engine API's network endpoints (v1.43), over NetworkService:
 *
 *   GET    /networks                 list (filters: name, id, label, driver, type, dangling)
 *   GET    /networks/{id}            inspect
 *   POST   /networks/create          create → 201 {Id, Warning}
 *   DELETE /networks/{id}            remove (403 predefined, 409 active endpoints)
 *   POST   /networks/prune           prune (filters: until, label)
 *   POST   /networks/{id}/connect    {Container, EndpointConfig {Aliases, IPAMConfig}}
 *   POST   /networks/{id}/disconnect {Container, Force}
 */
function sendJson(ctx: RequestContext, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  ctx.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  ctx.res.end(body);
}

const LIST_FILTERS = ['name', 'id', 'label', 'driver', 'type', 'dangling', 'scope'];

function truthy(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(`invalid filter 'dangling=${value}'`);
}

type View = Record<string, unknown> & { Name: string; Id: string; Driver: string; Labels: Record<string, string>; Containers: Record<string, unknown> };

function listMatches(filters: Filters): (n: View) => boolean {
  const any = (key: string, test: (v: string) => boolean): boolean => {
    const values = filters.get(key);
    return values === undefined || values.length === 0 || values.some(test);
  };
  for (const t of filters.get('type') ?? []) if (t !== 'custom' && t !== 'builtin') throw invalid(`invalid filter: 'type'='${t}'`);
  return (n) => {
    const builtin = n.Name === 'bridge' || n.Name === 'host' || n.Name === 'none';
    return any('name', (v) => n.Name.includes(v))
      && any('id', (v) => n.Id.startsWith(v))
      && any('driver', (v) => n.Driver === v)
      && any('scope', (v) => v === 'local')
      && any('type', (v) => (v === 'builtin') === builtin)
      && any('dangling', (v) => truthy(v) === (!builtin && Object.keys(n.Containers).length === 0))
      && matchLabels(n.Labels, filters.get('label') ?? []);
  };
}

export function registerNetworkRoutes(router: Router, networks: NetworkService): void {
  router.get('/networks', async (ctx) => {
    const matches = listMatches(parseFilters(ctx.query, LIST_FILTERS));
    sendJson(ctx, 200, (networks.list() as View[]).filter(matches));
  });

  router.post('/networks/create', async (ctx) => {
    sendJson(ctx, 201, await networks.create(await ctx.json<CreateNetworkRequest>()));
  });

  router.post('/networks/prune', async (ctx) => {
    const filters = parseFilters(ctx.query, ['until', 'label', 'label!']);
    const until = filters.get('until') ?? [];
    if (until.length > 1) throw invalid('more than one until filter specified');
    const cutoff = until[0] !== undefined ? parseTimestamp(until[0]) : undefined;
    const want = filters.get('label') ?? [];
    const not = filters.get('label!') ?? [];
    const matches = (n: NetworkRecord): boolean =>
      (cutoff === undefined || Date.parse(n.Created) < cutoff)
      && matchLabels(n.Labels, want)
      && (not.length === 0 || !matchLabels(n.Labels, not));
    sendJson(ctx, 200, { NetworksDeleted: await networks.prune(matches) });
  });

  router.get('/networks/:id', async (ctx) => {
    sendJson(ctx, 200, networks.inspect(ctx.params.id as string));
  });

  router.delete('/networks/:id', async (ctx) => {
    await networks.remove(ctx.params.id as string);
    ctx.res.writeHead(204).end();
  });

  router.post('/networks/:id/connect', async (ctx) => {
    const body = await ctx.json<{ Container?: string; EndpointConfig?: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null } | null }>();
    if (!body.Container) throw invalid('connect: the Container to connect is required');
    await networks.connect(ctx.params.id as string, body.Container, body.EndpointConfig ?? {});
    ctx.res.writeHead(200).end();
  });

  router.post('/networks/:id/disconnect', async (ctx) => {
    const body = await ctx.json<{ Container?: string; Force?: boolean }>();
    if (!body.Container) throw invalid('disconnect: the Container to disconnect is required');
    await networks.disconnect(ctx.params.id as string, body.Container, body.Force === true || boolParam(ctx.query, 'force'));
    ctx.res.writeHead(200).end();
  });
}
