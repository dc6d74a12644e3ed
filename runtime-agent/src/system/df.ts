import { invalid } from '../errors.js';
import { directorySize } from '../store/directory-size.js';
import type { VolumeView } from '../volumes/view.js';

/**
 * `GET /system/df` (API 1.43's DiskUsage, what `docker system df [-v]` prints):
 *
 *   LayersSize   bytes of every unpacked layer, each once
 *   Images       /images/json items (SharedSize computed) with Containers = how many
 *                containers (any state) were created from the image
 *   Containers   /containers/json items (all) with SizeRw = bytes in the container's writable
 *                layer (its overlay upper dir) and SizeRootFs = SizeRw + its image's Size
 *   Volumes      local volumes with UsageData {Size, RefCount}
 *   BuildCache   [] (berthd has no build cache yet)
 *
 * `type=container|image|volume|build-cache` (API >= 1.42, repeatable) asks for some parts
 * only; the others are null (LayersSize 0), as moby answers.
 */
export type DiskUsageKind = 'container' | 'image' | 'volume' | 'build-cache';
const KINDS: readonly DiskUsageKind[] = ['container', 'image', 'volume', 'build-cache'];

/** One /images/json item (df reads Id and Size, and passes the rest through). */
export type ImageSummary = Readonly<Record<string, unknown>>;

export interface ContainerUsageSource {
  /** The /containers/json item, with Id and ImageID. */
  readonly summary: Record<string, unknown> & { Id: string; ImageID: string };
  /** The directory holding its writable layer. */
  readonly upperDir: string;
}

/** What df reads from the other modules (bound in main.ts). */
export interface DiskUsageSources {
  images(apiVersion: string): ImageSummary[];
  layersSize(): number;
  containers(): ContainerUsageSource[];
  volumes(): Promise<VolumeView[]>;
}

export interface DiskUsage {
  LayersSize: number;
  Images: Record<string, unknown>[] | null;
  Containers: Record<string, unknown>[] | null;
  Volumes: VolumeView[] | null;
  BuildCache: unknown[] | null;
}

/** Reads `type` query values; none (or API < 1.42) means every kind. */
export function parseKinds(values: readonly string[], apiVersion: string): ReadonlySet<DiskUsageKind> {
  if (values.length === 0 || olderThan(apiVersion, '1.42')) return new Set(KINDS);
  const kinds = new Set<DiskUsageKind>();
  for (const value of values) {
    const kind = KINDS.find((k) => k === value);
    if (kind === undefined) throw invalid(`unknown object type: ${value} (one of ${KINDS.join(', ')})`);
    kinds.add(kind);
  }
  return kinds;
}

export async function diskUsage(src: DiskUsageSources, kinds: ReadonlySet<DiskUsageKind>, apiVersion: string): Promise<DiskUsage> {
  const wantImages = kinds.has('image');
  const wantContainers = kinds.has('container');
  const containers = wantImages || wantContainers ? src.containers() : [];
  const images = wantImages || wantContainers ? src.images(apiVersion) : [];
  const [containerItems, volumes] = await Promise.all([
    wantContainers ? containerUsage(containers, images) : Promise.resolve(null),
    kinds.has('volume') ? src.volumes() : Promise.resolve(null),
  ]);
  return {
    LayersSize: wantImages ? src.layersSize() : 0,
    Images: wantImages ? imageUsage(images, containers) : null,
    Containers: containerItems,
    Volumes: volumes,
    BuildCache: kinds.has('build-cache') ? [] : null,
  };
}

function imageUsage(images: readonly ImageSummary[], containers: readonly ContainerUsageSource[]): Record<string, unknown>[] {
  const counts = new Map<string, number>();
  for (const c of containers) counts.set(c.summary.ImageID, (counts.get(c.summary.ImageID) ?? 0) + 1);
  return images.map((image) => ({ ...image, Containers: counts.get(String(image.Id)) ?? 0 }));
}

async function containerUsage(containers: readonly ContainerUsageSource[], images: readonly ImageSummary[]): Promise<Record<string, unknown>[]> {
  const imageSize = new Map(images.map((i) => [String(i.Id), typeof i.Size === 'number' ? i.Size : 0]));
  // One walk at a time: df must not starve the daemon's disk on a big tree.
  const items: Record<string, unknown>[] = [];
  for (const c of containers) {
    const sizeRw = await directorySize(c.upperDir).catch(() => 0);
    items.push({ ...c.summary, SizeRw: sizeRw, SizeRootFs: sizeRw + (imageSize.get(c.summary.ImageID) ?? 0) });
  }
  return items;
}

function olderThan(version: string, than: string): boolean {
  const [am = 0, an = 0] = version.split('.').map(Number);
  const [bm = 0, bn = 0] = than.split('.').map(Number);
  return am !== bm ? am < bm : an < bn;
}
