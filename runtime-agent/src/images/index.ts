/**
 * The images module's public face: the daemon creates the service here, calls `init()` at
 * start, hands it to containers as their ImageProvider and to `registerImageRoutes`.
 */
import { ImageService, type ImageServiceDeps } from './service.js';

export function createImageService(deps: ImageServiceDeps): ImageService {
  return new ImageService(deps);
}

export { ImageService, type ImageServiceDeps } from './service.js';
export type { ContainerUsers } from './image-store.js';
export type { DeleteItem, DeleteOptions } from './delete.js';
export type { ImportOptions } from './import.js';
export type { ListOptions } from './list.js';
export type { LoadOutput, LoadedImage } from './load.js';
export type { PruneOptions, PruneReport } from './prune.js';
export type { Image, ImageProvider, ImageUsers, LayerRef, ImageRuntimeConfig } from './types.js';
