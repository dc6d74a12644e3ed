import type Dockerode from 'dockerode';
import type { ImageSummary } from '../../shared/bridge.js';

const NONE = /^<none>[:@]<none>$/;

/** A container's name without Docker's leading `/` (its short ID when it has none). */
export function containerName(c: Dockerode.ContainerInfo): string {
  return (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, '');
}

/** `GET /images/json` rows in the bridge's shape; `usedBy` names the containers made from each. */
export function toImageSummaries(images: readonly Dockerode.ImageInfo[], containers: readonly Dockerode.ContainerInfo[]): ImageSummary[] {
  const users = new Map<string, string[]>();
  for (const c of containers) {
    const list = users.get(c.ImageID) ?? [];
    list.push(containerName(c));
    users.set(c.ImageID, list);
  }
  return images.map((image) => ({
    id: image.Id,
    tags: (image.RepoTags ?? []).filter((t) => !NONE.test(t)),
    digests: (image.RepoDigests ?? []).filter((d) => !NONE.test(d)),
    sizeBytes: image.Size,
    createdAt: new Date(image.Created * 1000).toISOString(),
    usedBy: (users.get(image.Id) ?? []).sort(),
  }));
}

/** What a 409 on remove means, in words: which containers hold the image, and what to do. */
export function inUseMessage(image: string, users: readonly string[], engineMessage: string): string {
  if (users.length === 0) return `${engineMessage}. Remove what uses it first, or remove it with force.`;
  const who = users.length === 1 ? `container ${users[0] ?? ''}` : `containers ${users.join(', ')}`;
  return `Image ${image} is used by ${who}. Remove the ${users.length === 1 ? 'container' : 'containers'} first, or remove the image with force.`;
}
