import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { OperationKind } from '../../shared/bridge.js';
import { checkImageReference, referenceText, type ImageReference } from '../../shared/image-reference.js';
import { AppError, InvalidArgument, toBridgeError } from '../transport/errors.js';
import type { Client } from '../transport/registry.js';
import type { Operations } from './operations.js';
import { ProgressReport, type JsonMessage } from './progress.js';

/**
 * Pull, push and load: one engine request each whose JSON progress answer becomes
 * `operation:progress` pushes (the per-layer picture) to the client that asked.
 */
export interface TransferDeps {
  readonly docker: Dockerode;
  readonly operations: Operations;
  readonly client: Client;
  readonly operation: string;
}

/**
 * One streamed engine request (dockerode's modem): answers the response stream; a refusal
 * before the stream starts rejects with the engine's status and message.
 */
export function openStream(
  docker: Dockerode,
  request: { path: string; method: 'POST'; query?: Record<string, string | string[] | boolean>; body?: Buffer | NodeJS.ReadableStream; contentType?: string; signal: AbortSignal },
): Promise<Readable> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `${request.path}?`,
        method: request.method,
        options: { _query: request.query ?? {} },
        ...(request.body === undefined ? {} : { file: request.body, headers: { 'Content-Type': request.contentType ?? 'application/x-tar' } }),
        abortSignal: request.signal,
        isStream: true,
        statusCodes: { 200: true, 400: 'bad parameter', 404: 'not found', 409: 'conflict', 500: 'server error' },
      },
      (err, stream) => (err ? reject(err as Error) : resolve(stream as Readable)),
    );
  });
}

export function parseReference(input: string): ImageReference {
  const check = checkImageReference(input);
  if (!check.ok) throw new InvalidArgument(check.message);
  return check.reference;
}

/** Runs one streamed request with its progress report; engine failures keep their status and say what failed. */
export async function transfer(
  deps: TransferDeps,
  kind: OperationKind,
  what: string,
  open: (signal: AbortSignal) => Promise<Readable>,
  onMessage: (report: ProgressReport, message: JsonMessage) => void = (report, message) => report.message(message),
): Promise<ProgressReport> {
  const report = new ProgressReport(deps.operation, kind, (p) => deps.client.emit('operation:progress', p));
  try {
    await deps.operations.run(deps.client, deps.operation, kind, open, (m) => onMessage(report, m));
    report.finish();
    return report;
  } catch (err) {
    report.stop();
    if (err instanceof AppError && err.code === 'cancelled') throw err;
    const e = toBridgeError(err);
    throw new AppError(e.code ?? 'engine-error', `${what} failed: ${e.message}`, e.status, { cause: err });
  }
}

/** Answers the pulled image's ID. A reference without tag or digest pulls `:latest`. */
export async function pullImage(deps: TransferDeps, reference: string): Promise<{ id: string }> {
  const ref = parseReference(reference);
  const text = referenceText(ref);
  const tag = ref.digest ?? ref.tag ?? 'latest';
  await transfer(deps, 'pull', `Pulling ${text}`, (signal) =>
    openStream(deps.docker, { path: '/images/create', method: 'POST', query: { fromImage: ref.repository, tag }, signal }),
  );
  const image = await deps.docker.getImage(text).inspect();
  return { id: image.Id };
}

/** Pushes one tag (or every tag of the repository when the reference names none); anonymous for now. */
export async function pushImage(deps: TransferDeps, reference: string): Promise<void> {
  const ref = parseReference(reference);
  if (ref.digest !== undefined) throw new InvalidArgument(`Push a tag, not a digest: "${reference}".`);
  const query: Record<string, string> = ref.tag === undefined ? {} : { tag: ref.tag };
  await transfer(deps, 'push', `Pushing ${reference}`, (signal) =>
    openStream(deps.docker, { path: `/images/${ref.repository}/push`, method: 'POST', query, signal }),
  );
}

/** A tar starts its first header's magic at byte 257; `docker load` takes gzip too. */
function looksLikeArchive(bytes: Uint8Array): boolean {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return true;
  return bytes.length >= 512 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar';
}

/** `docker load`: answers the names (or IDs, for untagged images) the archive held. */
export async function loadImage(deps: TransferDeps, name: string, bytes: Uint8Array): Promise<{ loaded: string[] }> {
  if (!looksLikeArchive(bytes)) {
    throw new InvalidArgument(`${name} is not an image archive. Load a .tar made by \`docker save\` or an OCI image layout tar.`);
  }
  const loaded: string[] = [];
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  await transfer(
    deps,
    'load',
    `Loading ${name}`,
    (signal) => openStream(deps.docker, { path: '/images/load', method: 'POST', body, signal }),
    (report, m) => {
      const found = /^Loaded image(?: ID)?: (.+)$/.exec((m.stream ?? '').trim());
      if (found?.[1] !== undefined) loaded.push(found[1]);
      report.message(m);
    },
  );
  if (loaded.length === 0) throw new AppError('engine-error', `${name} held no image the engine could load.`);
  return { loaded };
}
