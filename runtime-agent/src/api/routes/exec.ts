import { conflict, invalid } from '../../errors.js';
import type { ContainerService } from '../../containers/service.js';
import type { ExecCreateRequest } from '../../containers/exec/model.js';
import type { ExecStartRequest } from '../../containers/exec/start.js';
import { execInspectView } from '../../containers/exec/view.js';
import { intParam } from '../query.js';
import type { RequestContext, Router } from '../router.js';

function sendJson(ctx: RequestContext, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  ctx.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  ctx.res.end(body);
}

/** `h` and `w` of a resize: whole numbers a terminal can have. */
export function terminalSize(ctx: RequestContext): { rows: number; cols: number } {
  const rows = intParam(ctx.query, 'h');
  const cols = intParam(ctx.query, 'w');
  if (rows === undefined || cols === undefined || rows < 1 || cols < 1 || rows > 65535 || cols > 65535) {
    throw invalid('resize needs h and w between 1 and 65535');
  }
  return { rows, cols };
}

/** `docker exec`: create, start (hijacked), resize, inspect. */
export function registerExecRoutes(router: Router, containers: ContainerService): void {
  router.post('/containers/:id/exec', async (ctx) => {
    const exec = containers.createExec(ctx.params.id as string, await ctx.json<ExecCreateRequest>());
    sendJson(ctx, 201, { Id: exec.id });
  });

  router.hijack('POST', '/exec/:id/start', async (stream) => {
    await containers.startExec(stream.params.id as string, await stream.json<ExecStartRequest>(), stream);
  });

  router.post('/exec/:id/resize', async (ctx) => {
    const exec = containers.execs.get(ctx.params.id as string);
    const { rows, cols } = terminalSize(ctx);
    if (!exec.running || !exec.process) throw conflict(`exec ${exec.id} is not running`);
    exec.process.resize(rows, cols);
    ctx.res.writeHead(200).end();
  });

  router.get('/exec/:id/json', async (ctx) => {
    sendJson(ctx, 200, execInspectView(containers.execs.get(ctx.params.id as string)));
  });
}
