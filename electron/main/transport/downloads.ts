import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

export interface Download {
  readonly fileName: string;
  readonly contentType: string;
  /** Opened when the browser asks, so a link costs nothing until used. */
  open(): Promise<Readable>;
}

/**
 * Short-lived download links on the local server (`/download/<id>`): a file from a volume, a
 * folder as a tar, a container's log. The browser's own download manager streams them, so
 * nothing is held in memory. Links expire after `ttlMs` (default 10 minutes).
 */
export class DownloadLinks {
  readonly #links = new Map<string, { download: Download; expires: number }>();

  constructor(
    /** The URL of link `id` (origin, path and token). */
    private readonly urlFor: (id: string) => string,
    private readonly ttlMs = 10 * 60_000,
  ) {}

  register(download: Download): string {
    this.#sweep();
    const id = randomBytes(16).toString('hex');
    this.#links.set(id, { download, expires: Date.now() + this.ttlMs });
    return this.urlFor(id);
  }

  take(id: string): Download | undefined {
    this.#sweep();
    return this.#links.get(id)?.download;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, link] of this.#links) if (link.expires < now) this.#links.delete(id);
  }
}

/** A file name safe for Content-Disposition. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\/]/g, '_') || 'download';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
