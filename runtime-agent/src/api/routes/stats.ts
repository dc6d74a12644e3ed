import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { CgroupDriver } from '../../cgroups/cgroup.js';
import { CgroupV1Driver } from '../../cgroups/v1/driver.js';
import { CgroupV2Driver } from '../../cgroups/v2/driver.js';
import { conflict, notFound } from '../../errors.js';
import { cgroupPath, emitContainerEvent } from '../../containers/context.js';
import type { ContainerRecord } from '../../containers/model.js';
import type { ContainerService } from '../../containers/service.js';
import { CgroupFileCache } from '../../stats/cgroup-files.js';
import { containerChanges, type XattrReader } from '../../stats/changes.js';
import { parseFeedInterval, StatsFeed } from '../../stats/feed.js';
import type { ContainerState, StatsSource } from '../../stats/source.js';
import { ContainerStatsHub, serveContainerStats, type LineSink } from '../../stats/stream.js';
import { SystemCpuReader } from '../../stats/system-cpu.js';
import { top } from '../../stats/top.js';
import { networkPidOf } from '../../stats/net-dev.js';
import { boolParam } from '../query.js';
import type { Router } from '../router.js';

/**
 * Watching containers (Docker Engine API v1.43 plus one Berth extension):
 *
 *   GET /containers/{id}/stats?stream=&one-shot=   Docker's stats JSON (stats/stream.ts)
 *   GET /containers/{id}/top?ps_args=              {Titles, Processes} from host ps (stats/top.ts)
 *   GET /containers/{id}/changes                   [{Path, Kind}] (stats/changes.ts)
 *   GET /berth/stats?interval=<ms>                 every running container per tick, JSON lines
 *                                                  (stats/feed.ts, docs/berth-api.md)
 */
export function registerStatsRoutes(router: Router, containers: ContainerService, xattr: XattrReader): void {
  const source = statsSource(containers);
  const system = new SystemCpuReader();
  const hub = new ContainerStatsHub(source, system);
  const feed = new StatsFeed(source, system);

  router.get('/containers/:id/stats', async (ctx) => {
    const target = source.resolve(ctx.params.id as string);
    const stream = boolParam(ctx.query, 'stream', true);
    const oneShot = boolParam(ctx.query, 'one-shot');
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    await serveContainerStats(hub, target, sinkOf(ctx.res), { stream, oneShot });
  });

  router.get('/containers/:id/top', async (ctx) => {
    const c = containers.get(ctx.params.id as string);
    if (c.State.Restarting) throw conflict(`Container ${c.Id} is restarting, wait until the container is running`);
    if (!isRunning(containers, c)) throw conflict(`Container ${c.Id} is not running`);
    const pids = await containers.ctx.cgroups.open(cgroupPath(containers.ctx, c.Id)).pids();
    const result = await top(pids, ctx.query.get('ps_args') ?? '');
    emitContainerEvent(containers.ctx, c, 'top');
    sendJson(ctx.res, result);
  });

  router.get('/containers/:id/changes', async (ctx) => {
    const c = containers.get(ctx.params.id as string);
    const image = await containers.ctx.images.byId(c.Image);
    if (!image) throw notFound(`the image of container ${c.Name} (${c.Image}) no longer exists`);
    const lowers = [...image.layers].reverse().map((l) => l.dir);
    const upper = join(containers.ctx.layout.container(c.Id), 'upper');
    sendJson(ctx.res, await containerChanges(upper, lowers, xattr));
  });

  router.get('/berth/stats', async (ctx) => {
    const interval = parseFeedInterval(ctx.query.get('interval'));
    const res = ctx.res;
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.flushHeaders();
    const sink = sinkOf(res);
    const unsubscribe = feed.subscribe(interval, (tick) => {
      if (!sink.backedUp) sink.write(JSON.stringify(tick) + '\n');
    });
    await sink.closed;
    unsubscribe();
    sink.end();
  });
}

function isRunning(containers: ContainerService, c: ContainerRecord): boolean {
  return c.State.Running && !c.State.Restarting && containers.ctx.tasks.has(c.Id);
}

/**
 * The samplers read cgroups through their own driver instance whose host keeps the files open
 * (stats/cgroup-files.ts); a container's handles are closed when it dies.
 */
function samplingDriver(containers: ContainerService): CgroupDriver {
  const driver = containers.ctx.cgroups;
  const cache = new CgroupFileCache();
  containers.ctx.events.subscribe((ev) => {
    if (ev.Type === 'container' && (ev.Action === 'die' || ev.Action === 'destroy')) {
      cache.retain((path) => !path.includes(`/${ev.Actor.ID}/`));
    }
  });
  if (driver instanceof CgroupV1Driver) return new CgroupV1Driver({ root: driver.root, host: cache });
  if (driver instanceof CgroupV2Driver) return new CgroupV2Driver({ root: driver.root, host: cache });
  return driver;
}

function statsSource(containers: ContainerService): StatsSource {
  const ctx = containers.ctx;
  const sampling = samplingDriver(containers);
  const state = (c: ContainerRecord): ContainerState => ({ id: c.Id, name: c.Name, running: isRunning(containers, c) });
  return {
    cgroupVersion: ctx.cgroups.version,
    resolve: (ref) => state(containers.get(ref)),
    lookup: (id) => {
      const c = containers.find(id);
      return c?.Id === id ? state(c) : undefined;
    },
    running: () => containers.all().filter((c) => isRunning(containers, c)).map((c) => ({ id: c.Id, name: c.Name })),
    readCgroup: (id) => sampling.open(cgroupPath(ctx, id)).stats(),
    // Network counters come from the container init's own view of /proc/net/dev.
    networkPid: (id) => {
      const c = containers.find(id);
      return c?.Id === id ? networkPidOf(c.HostConfig.NetworkMode, c.State.Pid) : undefined;
    },
  };
}

function sinkOf(res: ServerResponse): LineSink {
  const closed = new Promise<void>((resolve) => {
    res.once('close', () => resolve());
  });
  return {
    write: (text) => {
      if (!res.writableEnded && !res.destroyed) res.write(text);
    },
    get backedUp() {
      return res.writableNeedDrain;
    },
    end: () => {
      if (!res.writableEnded) res.end();
    },
    closed,
  };
}

function sendJson(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
