import { posix } from 'node:path';
import { invalid, isBerthError } from '../../errors.js';
import type { ConfinedTree, FileInfo } from '../../files/types.js';
import { log } from '../../log.js';
import { IgnoreRules } from './dockerignore.js';
import { hasWildcards, matchComponent } from './go-match.js';
import type { BuildContext, CopySource } from './types.js';

/**
 * What a COPY/ADD source names, resolved the classic builder's way (moby builder/dockerfile
 * copy.go, calcCopyInfo):
 *
 *   - the path is relative to the source's root; a leading `/` or `./` means the root, and
 *     `..` cannot climb out of it (the context refuses, a stage's tree stops at its `/`);
 *   - a path with wildcards is matched against every path of the source, one component at a
 *     time with Go's filepath.Match (walking real directories only, as filepath.Walk does);
 *     each match is then a source of its own, and a pattern matching nothing adds nothing;
 *   - a source naming a symbolic link is followed (its target's contents under the link's name);
 *   - a directory stands for its contents (walked here, links inside kept as links);
 *   - in the context, what .dockerignore excludes does not exist; an excluded directory that
 *     holds re-included files exists with just those (as the docker CLI would have sent it).
 */
export interface WalkedEntry {
  /** Path in the source tree. */
  readonly path: string;
  /** Path below the directory being copied. */
  readonly rel: string;
  readonly info: FileInfo;
}

export type LocalItem =
  | { readonly kind: 'file'; readonly path: string; readonly info: FileInfo }
  | { readonly kind: 'directory'; readonly path: string; readonly entries: readonly WalkedEntry[] };

export class SourceResolver {
  private readonly tree: ConfinedTree;
  private readonly context: BuildContext | undefined;
  private readonly rules: IgnoreRules | undefined;
  /** How messages name a `--from` source (the stage or image). */
  private readonly sourceName: string;

  constructor(
    source: CopySource,
    private readonly command: string,
  ) {
    this.tree = source.kind === 'context' ? source.context.tree : source.tree;
    this.context = source.kind === 'context' ? source.context : undefined;
    this.rules = this.context === undefined ? undefined : ignoreRulesOf(this.context);
    this.sourceName = source.kind === 'context' ? 'build context' : source.name;
  }

  get sourceTree(): ConfinedTree {
    return this.tree;
  }

  /** The items one source string stands for (none for a wildcard that matches nothing). */
  async resolve(source: string): Promise<LocalItem[]> {
    const path = this.clean(source);
    if (hasWildcards(path)) {
      const items: LocalItem[] = [];
      for (const match of await this.expand(path === '.' ? [] : path.split('/'), '')) items.push(await this.item(match, source));
      return items;
    }
    return [await this.item(path, source)];
  }

  /** Source paths are relative to the root; `..` may not climb out of the context. */
  private clean(source: string): string {
    const normal = posix.normalize(`/${source}`).slice(1).replace(/\/$/, '');
    if (this.context !== undefined) {
      const lexical = posix.normalize(source.replace(/^\/+/, '') || '.');
      if (lexical === '..' || lexical.startsWith('../')) throw invalid(`${this.command} failed: forbidden path outside the build context: ${source}`);
    }
    return normal === '' ? '.' : normal;
  }

  /** Paths matching the pattern's components from `dir` on, in walk (sorted) order. */
  private async expand(parts: readonly string[], dir: string): Promise<string[]> {
    if (parts.length === 0) return [];
    const [first, ...rest] = parts as [string, ...string[]];
    const matches: string[] = [];
    for (const child of await this.list(dir === '' ? '.' : dir)) {
      if (!matchComponent(first, child.name)) continue;
      const path = dir === '' ? child.name : `${dir}/${child.name}`;
      if (!(await this.visible(path, child))) continue;
      if (rest.length === 0) matches.push(path);
      else if (child.type === 'directory') matches.push(...(await this.expand(rest, path)));
    }
    return matches;
  }

  private async item(path: string, source: string): Promise<LocalItem> {
    let info: FileInfo;
    try {
      info = await this.tree.stat(path, { follow: true });
    } catch (err) {
      throw this.lookupError(err, path, source);
    }
    if (!(await this.visible(path, info))) throw this.notFound(path);
    if (info.type === 'directory') return { kind: 'directory', path, entries: await this.walk(path, '') };
    if (info.type !== 'file') throw invalid(`${this.command} failed: ${source} is a ${info.type}, which cannot be copied`);
    return { kind: 'file', path, info };
  }

  /** Everything below a directory, parents before children, each directory's entries sorted. */
  private async walk(dir: string, rel: string): Promise<WalkedEntry[]> {
    const entries: WalkedEntry[] = [];
    for (const info of await this.list(rel === '' ? dir : `${dir}/${rel}`)) {
      const childRel = rel === '' ? info.name : `${rel}/${info.name}`;
      const path = dir === '.' ? childRel : `${dir}/${childRel}`;
      if (info.type === 'socket' || info.type === 'char-device' || info.type === 'block-device') {
        log.debug('build.copy.skipped', { path, type: info.type }); // sockets cannot be archived; devices have no place in a build
        continue;
      }
      const ignored = this.isIgnored(path);
      if (ignored && (info.type !== 'directory' || !this.mayReinclude(path))) continue;
      if (info.type !== 'directory') {
        entries.push({ path, rel: childRel, info });
        continue;
      }
      const below = await this.walk(dir, childRel);
      if (ignored && below.length === 0) continue;
      entries.push({ path, rel: childRel, info }, ...below);
    }
    return entries;
  }

  /** Whether a path the context holds is visible to COPY (always, outside the context). */
  private async visible(path: string, info: FileInfo): Promise<boolean> {
    if (!this.isIgnored(path)) return true;
    if (info.type !== 'directory' || !this.mayReinclude(path)) return false;
    return (await this.walk(path, '')).length > 0;
  }

  private isIgnored(path: string): boolean {
    return this.context !== undefined && path !== '.' && this.context.isIgnored(path);
  }

  private mayReinclude(dir: string): boolean {
    return this.rules === undefined ? true : this.rules.mayReinclude(dir);
  }

  private async list(path: string): Promise<FileInfo[]> {
    try {
      return await this.tree.list(path);
    } catch (err) {
      throw this.lookupError(err, path, path);
    }
  }

  private lookupError(err: unknown, path: string, source: string): unknown {
    if (isBerthError(err, 'not-found')) return this.notFound(path);
    if (isBerthError(err, 'forbidden')) {
      return invalid(`${this.command} failed: forbidden path outside the ${this.context ? 'build context' : `filesystem of ${this.sourceName}`}: ${source}`, err);
    }
    return err;
  }

  private notFound(path: string): Error {
    return this.context !== undefined
      ? invalid(`${this.command} failed: file not found in build context or excluded by .dockerignore: stat ${path}: file does not exist`)
      : invalid(`${this.command} failed: file not found in ${this.sourceName}: stat ${path}: file does not exist`);
  }
}

/** The context's parsed rules when it is ours (context.ts); another BuildContext: none known. */
function ignoreRulesOf(context: BuildContext): IgnoreRules | undefined {
  const rules = (context as { ignoreRules?: unknown }).ignoreRules;
  return rules instanceof IgnoreRules ? rules : undefined;
}
