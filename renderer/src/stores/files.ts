import type { FileEntry, FileRoot, InvokeResult } from '@shared/bridge.js';
import { defineStore } from 'pinia';
import { useBridge } from '../bridge/index.js';

/** Largest preview the UI asks for; the main process caps it at 4 MiB too. */
export const PREVIEW_BYTES = 1024 * 1024;
/** Largest picture shown in a preview (the main process's cap). */
export const IMAGE_PREVIEW_BYTES = 4 * 1024 * 1024;
/** Largest upload: the file travels whole in one bridge message (the local server takes 256 MiB). */
export const MAX_UPLOAD_BYTES = 200 * 1024 * 1024;

/** The parent of an absolute path inside a root (`/a/b` → `/a`, `/a` → `/`). */
export function parentPath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const cut = trimmed.lastIndexOf('/');
  return cut <= 0 ? '/' : trimmed.slice(0, cut);
}

/** `dir` + `name`, with exactly one `/` between them. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** Why `name` cannot be a file or folder name, or undefined when it can. */
export function entryNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'Enter a name.';
  if (name === '.' || name === '..') return 'A name cannot be "." or "..".';
  if (name.includes('/')) return 'A name cannot contain "/".';
  if (name.includes('\0')) return 'A name cannot contain a NUL character.';
  if (new TextEncoder().encode(name).length > 255) return 'A name can be at most 255 bytes.';
  return undefined;
}

/**
 * The file browser's engine calls, for a volume or a container's filesystem. Which folder is
 * open is each browser's own state (two browsers can show different roots), so this store
 * holds no lists; it is the one place the file channels are called from.
 */
export const useFiles = defineStore('files', () => {
  const bridge = () => useBridge();

  function list(root: FileRoot, path: string): Promise<InvokeResult<'files:list'>> {
    return bridge().invoke('files:list', { root, path });
  }

  function read(root: FileRoot, path: string, maxBytes = PREVIEW_BYTES): Promise<InvokeResult<'files:read'>> {
    return bridge().invoke('files:read', { root, path, maxBytes });
  }

  function upload(root: FileRoot, directory: string, name: string, bytes: Uint8Array, overwrite: boolean): Promise<FileEntry> {
    return bridge().invoke('files:upload', { root, directory, file: { name, bytes }, overwrite });
  }

  function mkdir(root: FileRoot, path: string): Promise<FileEntry> {
    return bridge().invoke('files:mkdir', { root, path });
  }

  function rename(root: FileRoot, from: string, to: string): Promise<void> {
    return bridge().invoke('files:rename', { root, from, to });
  }

  function remove(root: FileRoot, path: string): Promise<void> {
    return bridge().invoke('files:delete', { root, path });
  }

  async function downloadUrl(root: FileRoot, path: string): Promise<string> {
    return (await bridge().invoke('files:downloadUrl', { root, path })).url;
  }

  return { list, read, upload, mkdir, rename, remove, downloadUrl };
});
