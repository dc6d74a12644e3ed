import type Dockerode from 'dockerode';
import type { JsonValue } from '../../shared/bridge.js';
import { checkImageReference, isValidTag } from '../../shared/image-reference.js';
import { AppError, InvalidArgument } from '../transport/errors.js';
import type { Client } from '../transport/registry.js';
import { bool, bytes, clientId, record, text } from '../transport/validate.js';
import type { ServiceContext } from './context.js';
import { buildImage } from './image-build.js';
import { loadImage, pullImage, pushImage, type TransferDeps } from './image-transfer.js';
import { containerName, inUseMessage, toImageSummaries } from './image-view.js';
import { Operations } from './operations.js';

/** Names of the containers made from `imageId`. */
async function usersOf(docker: Dockerode, imageId: string): Promise<string[]> {
  const containers = await docker.listContainers({ all: true });
  return containers.filter((c) => c.ImageID === imageId).map(containerName);
}

/**
 * images:list, images:inspect, images:pull, images:push, images:load, images:build,
 * images:tag, images:remove and operation:cancel. The long ones stream their progress to the
 * client that asked as `operation:progress` under the operation id it chose.
 */
export function registerImages(ctx: ServiceContext): void {
  const { registry, engine } = ctx;
  const operations = new Operations();

  const deps = (args: Record<string, unknown>, client: Client): TransferDeps => ({
    docker: engine.docker,
    operations,
    client,
    operation: clientId(args['operation'], 'operation'),
  });

  registry.handle('images:list', async () => {
    const docker = engine.docker;
    const [images, containers] = await Promise.all([docker.listImages(), docker.listContainers({ all: true })]);
    return toImageSummaries(images, containers);
  });

  registry.handle('images:inspect', async (args) => {
    const id = text(record(args, 'args')['id'], 'id', { max: 512 });
    return (await engine.docker.getImage(id).inspect()) as unknown as JsonValue;
  });

  registry.handle('images:pull', async (args, client) => {
    const a = record(args, 'pull');
    return pullImage(deps(a, client), text(a['reference'], 'The image to pull', { allowEmpty: true, max: 512 }));
  });

  registry.handle('images:push', async (args, client) => {
    const a = record(args, 'push');
    await pushImage(deps(a, client), text(a['reference'], 'The image to push', { max: 512 }));
  });

  registry.handle('images:load', async (args, client) => {
    const a = record(args, 'load');
    const file = record(a['file'], 'file');
    const name = text(file['name'], 'file name', { allowEmpty: true, max: 1024 }) || 'The file';
    return loadImage(deps(a, client), name, bytes(file['bytes'], 'file bytes'));
  });

  registry.handle('images:build', async (args, client) => buildImage(deps(record(args, 'build'), client), args));

  registry.handle('images:tag', async (args) => {
    const a = record(args, 'tag');
    const id = text(a['id'], 'id', { max: 512 });
    const repo = text(a['repo'], 'The repository', { max: 255 });
    const tag = text(a['tag'], 'The tag', { optional: true, max: 128 }) ?? 'latest';
    const check = checkImageReference(repo);
    if (!check.ok) throw new InvalidArgument(check.message);
    if (check.reference.tag !== undefined || check.reference.digest !== undefined) {
      throw new InvalidArgument(`Give the repository without a tag ("${check.reference.repository}") and the tag separately.`);
    }
    if (!isValidTag(tag)) throw new InvalidArgument(`"${tag}" is not a valid tag: letters, digits, _ . and - (at most 128, not starting with . or -).`);
    await engine.docker.getImage(id).tag({ repo, tag });
  });

  registry.handle('images:remove', async (args) => {
    const a = record(args, 'remove');
    const id = text(a['id'], 'id', { max: 512 });
    const force = bool(a['force'], 'force', false);
    const docker = engine.docker;
    try {
      await docker.getImage(id).remove({ force });
    } catch (err) {
      const e = err as { statusCode?: number; json?: { message?: string } };
      if (e.statusCode !== 409) throw err;
      const imageId = await docker
        .getImage(id)
        .inspect()
        .then((i) => i.Id)
        .catch(() => id);
      throw new AppError('conflict', inUseMessage(id, await usersOf(docker, imageId), e.json?.message ?? 'The image is in use'), 409, { cause: err });
    }
  });

  registry.handle('operation:cancel', (args, client) => {
    operations.cancel(client, clientId(record(args, 'cancel')['operation'], 'operation'));
  });
}
