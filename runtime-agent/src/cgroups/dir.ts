/**
 * One cgroup directory and the file formats the kernel uses in it:
 *   single value   `memory.max`          → "max\n" or "67108864\n"
 *   flat keyed     `cpu.stat`            → "usage_usec 123\nuser_usec 100\n..."
 *   nested keyed   `io.stat`             → "8:0 rbytes=1 wbytes=2 rios=3\n..."
 *   list           `cgroup.procs`        → one pid a line
 */
import { join } from 'node:path';
import { errnoCode, invalid, isBerthError, systemError } from '../errors.js';
import { log } from '../log.js';
import type { CgroupHost } from './host.js';

/** Values at or above this are the kernel's "no limit" (v1 prints 9223372036854771712). */
const UNLIMITED_FLOOR = 2 ** 62;

export class CgroupDir {
  constructor(
    readonly host: CgroupHost,
    readonly path: string,
  ) {}

  file(name: string): string {
    return join(this.path, name);
  }

  has(name: string): Promise<boolean> {
    return this.host.exists(this.file(name));
  }

  async read(name: string): Promise<string> {
    return (await this.host.readFile(this.file(name))).trim();
  }

  /** The file's content, or undefined when the file (or the group) does not exist. */
  async readOptional(name: string): Promise<string | undefined> {
    try {
      return await this.read(name);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** A single number; `max` and the v1 "unlimited" value read as Infinity; missing → 0. */
  async readNumber(name: string): Promise<number> {
    return parseLimit(await this.readOptional(name));
  }

  async readKeyed(name: string): Promise<Record<string, number>> {
    return parseKeyed((await this.readOptional(name)) ?? '');
  }

  async readPids(): Promise<number[]> {
    const text = await this.readOptional('cgroup.procs');
    return text === undefined ? [] : parsePids(text);
  }

  async write(name: string, value: string | number): Promise<void> {
    const text = String(value);
    try {
      await this.host.writeFile(this.file(name), text);
      log.debug('cgroup.write', { file: this.file(name), value: text });
    } catch (err) {
      throw systemError(
        `cgroup: cannot write "${text}" to ${this.file(name)}: ${errnoCode(err) ?? String(err)}`,
        err,
      );
    }
  }
}

/**
 * A group path relative to a hierarchy root (`berth/<id>`): leading and trailing slashes
 * dropped, every segment a plain name. Refuses `.`, `..` and empty paths.
 */
export function normalizeGroupPath(path: string): string {
  const segments = path.split('/').filter((segment) => segment !== '');
  if (segments.length === 0 || segments.some((s) => !/^[A-Za-z0-9_][A-Za-z0-9_.:@-]*$/.test(s))) {
    throw invalid(`invalid cgroup path: ${JSON.stringify(path)}`);
  }
  return segments.join('/');
}

/**
 * Makes each level of `path` under `root` (existing levels are fine), calling `onLevel`
 * with each level and its parent once the level exists.
 */
export async function makeGroupDirs(
  host: CgroupHost,
  root: string,
  path: string,
  onLevel?: (dir: CgroupDir, parent: CgroupDir) => Promise<void>,
): Promise<void> {
  let parent = new CgroupDir(host, root);
  for (const segment of path.split('/')) {
    const dir = new CgroupDir(host, join(parent.path, segment));
    try {
      await host.mkdir(dir.path);
    } catch (err) {
      throw systemError(`cgroup: cannot create ${dir.path}: ${errnoCode(err) ?? String(err)}`, err);
    }
    if (onLevel) await onLevel(dir, parent);
    parent = dir;
  }
}

/** The errno behind an error thrown by `CgroupDir.write` (or a raw Node error). */
export function writeErrno(err: unknown): string | undefined {
  if (isBerthError(err)) return errnoCode(err.cause);
  return errnoCode(err);
}

export function parseLimit(text: string | undefined): number {
  if (text === undefined || text === '') return 0;
  if (text === 'max') return Infinity;
  const value = Number(text);
  if (!Number.isFinite(value)) return 0;
  return value >= UNLIMITED_FLOOR ? Infinity : value;
}

export function parseKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out[key] = Number(value);
  }
  return out;
}

/** `8:0 rbytes=1 wbytes=2` → [{ major: 8, minor: 0, fields: { rbytes: 1, wbytes: 2 } }]. */
export function parseNestedKeyed(
  text: string,
): { major: number; minor: number; fields: Record<string, number> }[] {
  const out: { major: number; minor: number; fields: Record<string, number> }[] = [];
  for (const line of text.split('\n')) {
    const [device, ...pairs] = line.trim().split(/\s+/);
    const match = /^(\d+):(\d+)$/.exec(device ?? '');
    if (!match) continue;
    const fields: Record<string, number> = {};
    for (const pair of pairs) {
      const [key, value] = pair.split('=');
      if (key && value !== undefined && /^\d+$/.test(value)) fields[key] = Number(value);
    }
    out.push({ major: Number(match[1]), minor: Number(match[2]), fields });
  }
  return out;
}

export function parsePids(text: string): number[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}
