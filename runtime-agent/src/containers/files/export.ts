import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { conflict } from '../../errors.js';
import { emitContainerEvent, type ContainerContext } from '../context.js';
import { openContainerFilesystem } from '../filesystem.js';
import type { ContainerRecord } from '../model.js';

/** Checks `docker export` can start: Docker refuses dead containers and ones being removed. */
export function assertExportable(c: ContainerRecord): void {
  if (c.State.Dead) throw conflict(`You cannot export container ${c.Id} which is Dead`);
  if (c.State.Status === 'removing') throw conflict(`You cannot export container ${c.Id} which is being removed`);
}

/**
 * `GET /containers/{id}/export`: the container's root filesystem — image layers with its
 * writable layer on top — as one tar, streamed as it is read: never its volumes, binds or
 * the kernel filesystems a run mounts (a read-only hold without mounts, even while it runs).
 * Entries are named as Docker's (`bin/`, `bin/sh`, no `./` prefix). `out` going away ends
 * the read and releases the hold. Event: `export`.
 */
export async function exportContainer(ctx: ContainerContext, c: ContainerRecord, out: Writable, begin: () => void): Promise<void> {
  assertExportable(c);
  const fs = await openContainerFilesystem(ctx, c, 'export');
  try {
    const tar = fs.tree.pack('/', { contentsOnly: true, name: '' });
    begin();
    await pipeline(tar, out);
    emitContainerEvent(ctx, c, 'export');
  } finally {
    await fs.release();
  }
}
