import type Dockerode from 'dockerode';
import type { ContainerAction } from '../../shared/bridge.js';
import { AppError } from '../transport/errors.js';
import { list, oneOf, record, text } from '../transport/validate.js';
import type { ServiceContext } from './context.js';
import { toContainerDetail, toContainerSummary } from './container-view.js';
import { parseRunRequest, toCreateOptions } from './run-request.js';

const ACTIONS: readonly ContainerAction[] = ['start', 'stop', 'restart', 'pause', 'unpause', 'kill', 'remove'];

async function act(container: Dockerode.Container, action: ContainerAction): Promise<void> {
  switch (action) {
    case 'start':
      return container.start();
    case 'stop':
      return container.stop();
    case 'restart':
      return container.restart();
    case 'pause':
      return container.pause();
    case 'unpause':
      return container.unpause();
    case 'kill':
      return container.kill();
    case 'remove':
      // The app's Remove is Docker Desktop's: force (a running one too) and its anonymous volumes.
      return container.remove({ force: true, v: true });
  }
}

/** containers:list, containers:inspect, containers:run, containers:action. */
export function registerContainers(ctx: ServiceContext): void {
  const { registry, engine } = ctx;

  registry.handle('containers:list', async () => (await engine.docker.listContainers({ all: true })).map(toContainerSummary));

  registry.handle('containers:inspect', async (args) => {
    const id = text(record(args, 'args')['id'], 'id', { max: 256 });
    return toContainerDetail(await engine.docker.getContainer(id).inspect());
  });

  registry.handle('containers:run', async (args) => {
    const run = parseRunRequest(args, engine.engine?.cpus ?? 1);
    const docker = engine.docker;
    let container: Dockerode.Container;
    try {
      container = await docker.createContainer(toCreateOptions(run));
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404 && /image/i.test(String((err as { json?: { message?: string } }).json?.message ?? ''))) {
        throw new AppError('not-found', `No image "${run.image}" here. Pull it on the Images page first, or check the name.`, 404, { cause: err });
      }
      throw err;
    }
    try {
      await container.start();
    } catch (err) {
      // Nothing half-made: a container that cannot start is removed again (its message kept).
      await container.remove({ force: true, v: true }).catch(() => undefined);
      throw err;
    }
    return { id: container.id };
  });

  registry.handle('containers:action', async (args) => {
    const a = record(args, 'args');
    const action = oneOf(a['action'], 'action', ACTIONS);
    const ids = list(a['ids'], 'ids', 500).map((id, i) => text(id, `id ${i + 1}`, { max: 256 }));
    const docker = engine.docker;
    const results = await Promise.allSettled(ids.map((id) => act(docker.getContainer(id), action)));
    const failed: { id: string; message: string }[] = [];
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        const err = r.reason as { statusCode?: number; json?: { message?: string }; message?: string };
        // 304: already in the asked-for state, which is what the user wanted.
        if (err.statusCode === 304) return;
        failed.push({ id: ids[i] ?? '', message: err.json?.message ?? err.message ?? String(r.reason) });
      }
    });
    return { failed };
  });
}
