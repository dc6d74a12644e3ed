/**
 * A fake cgroupfs over a tmp dir, for the drivers' unit tests: a CgroupHost whose mkdir makes
 * the files the kernel would put in a new group, whose writes follow the kernel's rules where
 * the drivers depend on them (v1 memory <= memsw, cpuset must be filled before tasks join,
 * v2 controllers must be offered before they are enabled, no processes in inner v2 groups),
 * and whose kill takes pids out of the tree. Every write is logged so tests can assert exactly
 * what was written, and in which order. The v1 and v2 trees are in fake-v1.ts / fake-v2.ts.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import type { CgroupHost, EntryKind } from '../../../runtime-agent/src/cgroups/host.js';

export function errno(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code });
}

export interface FakeOptions {
  /** v1 only: hierarchy directory names under the root (default: cpu,cpuacct co-mounted). */
  readonly hierarchies?: readonly string[];
  /** memsw (v1) / memory.swap.max (v2) present. Default true. */
  readonly swapAccounting?: boolean;
  /** v2 only: the root's cgroup.controllers. */
  readonly controllers?: readonly string[];
}

export abstract class FakeKernel implements CgroupHost {
  readonly root = mkdtempSync(join(tmpdir(), 'berth-fake-cgroup-'));
  readonly writes: { file: string; value: string }[] = [];
  readonly killed: number[] = [];
  protected readonly swapAccounting: boolean;
  private nextPid = 100_000;

  constructor(options: FakeOptions) {
    this.swapAccounting = options.swapAccounting ?? true;
  }

  /** A pid for a process that exists only in this fake. */
  newPid(): number {
    return this.nextPid++;
  }

  isAlive(pid: number): boolean {
    return !this.killed.includes(pid);
  }

  /** Writes whose file ends with `suffix` (relative path to the root). */
  writesTo(suffix: string): string[] {
    return this.writes.filter((w) => w.file.endsWith(suffix)).map((w) => w.value);
  }

  /** Puts sample content in a file, as the kernel would report it. */
  set(path: string, content: string): void {
    writeFileSync(join(this.root, path), content);
  }

  get(path: string): string {
    return readFileSync(join(this.root, path), 'utf8').trim();
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  // ---- CgroupHost ----

  readFile = async (path: string): Promise<string> => {
    if (!existsSync(path)) throw errno('ENOENT', path);
    return readFileSync(path, 'utf8');
  };

  writeFile = async (path: string, value: string): Promise<void> => {
    if (!existsSync(path) || statSync(path).isDirectory()) throw errno('ENOENT', path);
    const name = basename(path);
    const dir = dirname(path);
    if (name === 'cgroup.procs') {
      this.beforeJoin(dir, path);
      const procs = readFileSync(path, 'utf8').split('\n').filter(Boolean);
      if (!procs.includes(value)) procs.push(value);
      writeFileSync(path, procs.join('\n') + '\n');
    } else {
      const stored = this.onWrite(dir, name, value);
      if (stored !== undefined) writeFileSync(path, stored + '\n');
    }
    this.writes.push({ file: relative(this.root, path), value });
  };

  mkdir = async (path: string): Promise<void> => {
    if (existsSync(path)) return;
    if (!existsSync(dirname(path))) throw errno('ENOENT', path);
    mkdirSync(path);
    this.populate(path);
  };

  rmdir = async (path: string): Promise<void> => {
    if (!existsSync(path)) throw errno('ENOENT', path);
    const children = readdirSync(path, { withFileTypes: true });
    if (children.some((entry) => entry.isDirectory())) throw errno('EBUSY', path);
    const procs = join(path, 'cgroup.procs');
    if (existsSync(procs) && readFileSync(procs, 'utf8').trim() !== '') throw errno('EBUSY', path);
    rmSync(path, { recursive: true });
  };

  list = async (path: string): Promise<{ name: string; kind: EntryKind }[]> => {
    if (!existsSync(path)) throw errno('ENOENT', path);
    return readdirSync(path, { withFileTypes: true }).map((entry) => ({
      name: entry.name,
      kind: entry.isDirectory() ? 'dir' : entry.isSymbolicLink() ? 'link' : 'file',
    }));
  };

  exists = async (path: string): Promise<boolean> => existsSync(path);

  kill = (pid: number): void => {
    this.killed.push(pid);
    this.removePid(this.root, pid);
  };

  protected removePid(dir: string, pid?: number): void {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) this.removePid(path, pid);
      else if (entry.name === 'cgroup.procs') {
        const left = readFileSync(path, 'utf8')
          .split('\n')
          .filter((line) => line !== '' && pid !== undefined && line !== String(pid));
        if (pid === undefined) {
          for (const line of readFileSync(path, 'utf8').split('\n').filter(Boolean)) {
            this.killed.push(Number(line));
          }
        }
        writeFileSync(path, left.length ? left.join('\n') + '\n' : '');
      }
    }
  }

  protected files(dir: string, files: Record<string, string>): void {
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(dir, name), content === '' ? '' : content + '\n');
    }
  }

  protected read(dir: string, name: string): string {
    return readFileSync(join(dir, name), 'utf8').trim();
  }

  /** Makes the files of a new group. */
  protected abstract populate(dir: string): void;
  /** Checks a pid may join `dir`; throws an errno error if not. */
  protected abstract beforeJoin(dir: string, path: string): void;
  /** Applies a write; returns what the file reads afterwards (undefined: handled). */
  protected abstract onWrite(dir: string, name: string, value: string): string | undefined;
}
