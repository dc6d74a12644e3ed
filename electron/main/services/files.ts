import type Dockerode from 'dockerode';
import type { FileRoot } from '../../shared/bridge.js';
import * as berthFiles from '../engine/berth-files.js';
import { AppError, InvalidArgument } from '../transport/errors.js';
import { bool, bytes, integer, record, text } from '../transport/validate.js';
import type { ServiceContext } from './context.js';

/** The most a preview reads, whatever the renderer asks for. */
export const MAX_PREVIEW_BYTES = 4 * 1024 * 1024;

/** A path inside a root: a string of fewer than 4096 bytes without NUL (berthd checks the rest). */
export function parsePath(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new InvalidArgument(`${what} must be a string`);
  if (value === '') throw new InvalidArgument(`${what} must not be empty (use / for the top folder)`);
  if (value.includes('\0')) throw new InvalidArgument(`${what} must not contain a NUL character`);
  if (Buffer.byteLength(value, 'utf8') >= 4096) throw new InvalidArgument(`${what} is too long (a path must be shorter than 4096 bytes)`);
  return value;
}

export function parseRoot(value: unknown): FileRoot {
  const r = record(value, 'root');
  if (r['kind'] === 'volume') return { kind: 'volume', name: text(r['name'], 'root.name', { max: 255 }) };
  if (r['kind'] === 'container') return { kind: 'container', id: text(r['id'], 'root.id', { max: 256 }) };
  throw new InvalidArgument('root.kind must be "volume" or "container"');
}

/** One name (an upload's file name): not empty, no `/`, not `.` or `..`, at most 255 bytes. */
export function parseEntryName(value: unknown, what: string): string {
  const name = text(value, what, { max: 1024 });
  if (name === '.' || name === '..' || name.includes('/')) throw new InvalidArgument(`${what} must be a plain name, without "/" and not "." or ".."`);
  if (Buffer.byteLength(name, 'utf8') > 255) throw new InvalidArgument(`${what} is too long (at most 255 bytes)`);
  return name;
}

function join(directory: string, name: string): string {
  return directory.endsWith('/') ? `${directory}${name}` : `${directory}/${name}`;
}

function baseName(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return parts[parts.length - 1] ?? '';
}

/**
 * files:* — the file browser over berthd's browse API (engine/berth-files.ts). Volumes are
 * read-write; a container's filesystem is read-only (berthd answers 403 to changes, and that
 * message is what the user sees). Downloads are links on the local server that stream straight
 * from berthd to the browser.
 */
export function registerFiles(ctx: ServiceContext): void {
  const { registry, engine } = ctx;

  /** The engine, when it is berthd: only berthd has the browse API. */
  function berthd(): Dockerode {
    const docker = engine.docker;
    if (engine.engine?.isBerth !== true) {
      throw new AppError(
        'engine-error',
        `The file browser needs berthd; ${engine.engine?.name ?? 'this engine'} has no browse API. Use \`docker cp\` to copy files, or connect to berthd in Settings.`,
      );
    }
    return docker;
  }

  registry.handle('files:list', async (args) => {
    const a = record(args, 'args');
    const root = parseRoot(a['root']);
    return berthFiles.listDirectory(berthd(), root, parsePath(a['path'], 'path'));
  });

  registry.handle('files:read', async (args) => {
    const a = record(args, 'args');
    const root = parseRoot(a['root']);
    const path = parsePath(a['path'], 'path');
    const maxBytes = Math.min(integer(a['maxBytes'], 'maxBytes', 1, Number.MAX_SAFE_INTEGER), MAX_PREVIEW_BYTES);
    return berthFiles.readStart(berthd(), root, path, maxBytes);
  });

  registry.handle('files:upload', async (args) => {
    const a = record(args, 'args');
    const root = parseRoot(a['root']);
    const directory = parsePath(a['directory'], 'directory');
    const file = record(a['file'], 'file');
    const name = parseEntryName(file['name'], 'file name');
    const content = bytes(file['bytes'], 'file bytes');
    const overwrite = bool(a['overwrite'], 'overwrite', false);
    parsePath(join(directory, name), 'path');
    return berthFiles.upload(berthd(), root, directory, name, content, overwrite);
  });

  registry.handle('files:mkdir', async (args) => {
    const a = record(args, 'args');
    const root = parseRoot(a['root']);
    return berthFiles.makeDirectory(berthd(), root, parsePath(a['path'], 'path'));
  });

  registry.handle('files:rename', async (args) => {
    const a = record(args, 'args');
    const root = parseRoot(a['root']);
    await berthFiles.rename(berthd(), root, parsePath(a['from'], 'from'), parsePath(a['to'], 'to'));
  });

  registry.handle('files:delete', async (args) => {
    const a = record(args, 'args');
    const root = parseRoot(a['root']);
    await berthFiles.remove(berthd(), root, parsePath(a['path'], 'path'));
  });

  registry.handle('files:downloadUrl', async (args) => {
    const a = record(args, 'args');
    const root = parseRoot(a['root']);
    const path = parsePath(a['path'], 'path');
    const docker = berthd();
    // Checked now, so a missing or refused path is a message here, not a failed download later.
    const entry = await berthFiles.describeEntry(docker, root, path, true);
    const name = baseName(path) || (root.kind === 'volume' ? root.name : root.id.slice(0, 12));
    const folder = entry.type === 'directory';
    if (!folder && entry.type !== 'file') throw new InvalidArgument(`${path} is a ${entry.type}; only files and folders can be downloaded`);
    const url = ctx.downloads.register({
      fileName: folder ? `${name}.tar` : name,
      contentType: folder ? 'application/x-tar' : 'application/octet-stream',
      open: () => berthFiles.openStream(berthd(), root, path, folder ? 'archive' : 'content'),
    });
    return { url };
  });
}
