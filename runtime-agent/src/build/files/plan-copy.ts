import { invalid } from '../../errors.js';
import type { ConfinedTree } from '../../files/types.js';
import { isTarArchive } from './archive-detect.js';
import { combinedKey, localItemKey } from './cache-key.js';
import { applyItem, destination, type OwnerRule, type PlannedItem } from './copy-apply.js';
import { SourceResolver } from './copy-sources.js';
import type { BuildFilesDeps } from './deps.js';
import { download, isUrl, type Download } from './download.js';
import type { CopyPlan, CopyRequest, CopySource } from './types.js';

/**
 * planCopy: a COPY or ADD resolved against its source, keyed, and ready to apply (types.ts).
 * Planning reads every copied file once (for the cache key) and downloads ADD URLs; applying
 * reads them again into the target. Errors are Docker's, as the CLI prints them:
 *
 *   COPY failed: no source files were specified
 *   COPY failed: file not found in build context or excluded by .dockerignore: stat x: file does not exist
 *   When using COPY with more than one source file, the destination must be a directory and end with a /
 *   COPY failed: source can't be a URL for COPY
 *   ADD failed: failed to GET <url> with status 404 Not Found
 *
 * ADD extracts local tar archives (plain, gzip, bzip2, xz: by their bytes) from the context
 * only, never from `--from` and never a download.
 */
export async function planCopy(request: CopyRequest, source: CopySource, deps: BuildFilesDeps): Promise<CopyPlan> {
  const command = request.add ? 'ADD' : 'COPY';
  const resolver = new SourceResolver(source, command);
  const tree = resolver.sourceTree;
  const items: PlannedItem[] = [];
  const keys: string[] = [];
  const downloads: Download[] = [];
  try {
    if (request.chmod !== undefined && !(Number.isInteger(request.chmod) && request.chmod >= 0 && request.chmod <= 0o7777)) {
      throw invalid(`${command} failed: invalid --chmod value ${String(request.chmod)}: use an octal mode such as 755`);
    }
    for (const src of request.sources) {
      if (isUrl(src)) {
        if (!request.add) throw invalid(`COPY failed: source can't be a URL for COPY`);
        const fetched = await download(src, request.dest.endsWith('/'), deps);
        downloads.push(fetched);
        items.push({ kind: 'download', download: fetched });
        keys.push(fetched.cacheKey);
        continue;
      }
      for (const local of await resolver.resolve(src)) {
        keys.push(await localItemKey(tree, local));
        const extract = request.add && source.kind === 'context' && local.kind === 'file' && (await isTarArchive(tree, local.path));
        items.push(extract ? { kind: 'archive', tree, path: local.path } : { ...local, tree });
      }
    }
    if (items.length === 0) throw invalid(`${command} failed: no source files were specified`);
    if (items.length > 1 && !request.dest.endsWith('/')) {
      throw invalid(`When using ${command} with more than one source file, the destination must be a directory and end with a /`);
    }
  } catch (err) {
    await Promise.all(downloads.map((d) => d.dispose()));
    throw err;
  }
  return new Plan(items, combinedKey(keys), request, command, downloads);
}

class Plan implements CopyPlan {
  constructor(
    private readonly items: readonly PlannedItem[],
    readonly cacheKey: string,
    private readonly request: CopyRequest,
    private readonly command: string,
    private readonly downloads: readonly Download[],
  ) {}

  async apply(target: ConfinedTree, owner?: OwnerRule): Promise<void> {
    const dest = destination(this.request.dest, this.request.workdir);
    const opts = { command: this.command, owner: owner ?? { uid: 0, gid: 0 }, chmod: this.request.chmod };
    for (const item of this.items) await applyItem(target, item, dest, opts); // in order: a later item may land in an earlier one's directory
  }

  async dispose(): Promise<void> {
    await Promise.all(this.downloads.map((d) => d.dispose()));
  }
}
