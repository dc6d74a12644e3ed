import { referenceText } from '../../shared/image-reference.js';
import { AppError, InvalidArgument } from '../transport/errors.js';
import { bool, list, record, stringMap, text } from '../transport/validate.js';
import { checkBuildContext, packBuildContext } from './build-context.js';
import { openStream, parseReference, transfer, type TransferDeps } from './image-transfer.js';

export interface BuildRequest {
  readonly contextPath: string;
  readonly dockerfile?: string;
  readonly tags: readonly string[];
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly noCache: boolean;
}

export function parseBuildRequest(a: Record<string, unknown>): BuildRequest {
  const contextPath = text(a['contextPath'], 'The build folder', {});
  const dockerfile = text(a['dockerfile'], 'The Dockerfile name', { optional: true, max: 1024 });
  const tags = list(a['tags'], 'tags', 20).map((t, i) => {
    const ref = parseReference(text(t, `tag ${i + 1}`, { max: 512 }));
    if (ref.digest !== undefined) throw new InvalidArgument(`A build tag names a tag, not a digest: "${String(t)}".`);
    return referenceText(ref);
  });
  const buildArgs = stringMap(a['buildArgs'], 'build args');
  for (const name of Object.keys(buildArgs)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new InvalidArgument(`Build arg "${name}" is not a valid name (letters, digits and _, not starting with a digit).`);
  }
  return { contextPath, ...(dockerfile === undefined ? {} : { dockerfile }), tags, buildArgs, noCache: bool(a['noCache'], 'noCache', false) };
}

/**
 * A classic build (DOCKER_BUILDKIT=0 semantics) of a folder on this machine: the folder goes
 * to the engine as a tar, each output line comes back as an `operation:progress` line, and the
 * image ID is the last `aux` message's. A failing step rejects with the step's message.
 */
export async function buildImage(deps: TransferDeps, args: unknown): Promise<{ id: string }> {
  const request = parseBuildRequest(record(args, 'build'));
  const context = await checkBuildContext(request.contextPath, request.dockerfile);
  let id: string | undefined;
  let packError: Error | undefined;
  await transfer(
    deps,
    'build',
    'The build',
    (signal) => {
      const pack = packBuildContext(context);
      // A file that cannot be read ends the upload: the request is dropped and that error told.
      const upload = new AbortController();
      signal.addEventListener('abort', () => upload.abort(), { once: true });
      pack.once('error', (err) => {
        packError = err;
        upload.abort();
      });
      const query = {
        t: [...request.tags],
        dockerfile: context.dockerfile,
        buildargs: JSON.stringify(request.buildArgs),
        nocache: request.noCache,
        rm: true,
      };
      return openStream(deps.docker, { path: '/build', method: 'POST', query, body: pack, signal: upload.signal });
    },
    (report, m) => {
      if (m.aux?.ID !== undefined) id = m.aux.ID;
      report.message(m);
    },
  ).catch((err: unknown) => {
    if (packError !== undefined) throw new AppError('invalid-argument', `The build folder cannot be sent: ${packError.message}`, 400, { cause: packError });
    throw err;
  });
  if (id === undefined) throw new AppError('engine-error', 'The build finished without naming its image.');
  return { id };
}
