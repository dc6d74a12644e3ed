import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { sha256Of, type Digest } from '../../../runtime-agent/src/images/digest.js';
import { createImageService, type ContainerUsers, type ImageService } from '../../../runtime-agent/src/images/index.js';
import type { LayerAddon } from '../../../runtime-agent/src/images/whiteouts.js';
import type { NativeAddon } from '../../../runtime-agent/src/native/addon-api.js';
import { loadAddon } from '../../../runtime-agent/src/native/addon.js';
import { DataLayout } from '../../../runtime-agent/src/store/layout.js';

/** Test helpers for the images suites: tars built in memory, temp data roots, an addon. */
export interface TarEntry {
  name: string;
  type?: tar.Headers['type'];
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

export async function buildTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((ok, fail) => {
    pack.on('end', () => ok());
    pack.on('error', fail);
  });
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
    const header = {
      name: e.name,
      type: e.type ?? 'file',
      mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(1_600_000_000_000),
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
      ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
      ...(e.pax !== undefined ? { pax: e.pax } : {}),
    };
    await new Promise<void>((ok, fail) => {
      if (data !== undefined) pack.entry(header, data, (err) => (err ? fail(err) : ok()));
      else pack.entry(header, (err) => (err ? fail(err) : ok()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export { gzipSync, sha256Of, type Digest };

/** Keyed by inode, so attributes follow a staging dir renamed into place. */
function inode(path: string): string {
  const st = lstatSync(path);
  return `${st.dev}:${st.ino}`;
}

/** The real addon when it is built, else a fake that makes nodes with mknod(1) and keeps xattrs in memory. */
export interface TestAddon extends LayerAddon {
  readonly real: boolean;
  readonly calls: { op: string; path: string; args: unknown[] }[];
  getxattr(path: string, name: string): Buffer | undefined;
}

export function testAddon(): TestAddon {
  const built = fileURLToPath(new URL('../../../runtime-agent/native/build/berth_native.node', import.meta.url));
  const calls: TestAddon['calls'] = [];
  if (existsSync(built) && process.env.BERTH_TEST_FAKE_ADDON !== '1') {
    const real: NativeAddon = loadAddon();
    return {
      real: true,
      calls,
      mknod: (path, mode, major, minor) => {
        calls.push({ op: 'mknod', path, args: [mode, major, minor] });
        real.mknod(path, mode, major, minor);
      },
      lsetxattr: (path, name, value) => {
        calls.push({ op: 'lsetxattr', path, args: [name, value.toString()] });
        real.lsetxattr(path, name, value);
      },
      getxattr: (path, name) => real.lgetxattr(path, name),
    };
  }
  const xattrs = new Map<string, Buffer>();
  return {
    real: false,
    calls,
    mknod: (path, mode, major, minor) => {
      calls.push({ op: 'mknod', path, args: [mode, major, minor] });
      const kind = (mode & 0o170000) === 0o020000 ? 'c' : (mode & 0o170000) === 0o060000 ? 'b' : 'p';
      const args = kind === 'p' ? [path, 'p'] : [path, kind, String(major), String(minor)];
      execFileSync('mknod', ['-m', (mode & 0o7777).toString(8), ...args]);
    },
    lsetxattr: (path, name, value) => {
      calls.push({ op: 'lsetxattr', path, args: [name, value.toString()] });
      xattrs.set(`${inode(path)}\0${name}`, value);
    },
    getxattr: (path, name) => xattrs.get(`${inode(path)}\0${name}`),
  };
}

export interface TestRoot {
  readonly dir: string;
  readonly layout: DataLayout;
  readonly addon: TestAddon;
  readonly users: ContainerUsers & { using: Map<string, string[]>; running: Set<string> };
  readonly images: ImageService;
  cleanup(): Promise<void>;
}

/** A fresh data root with an initialised image service. */
export async function testRoot(): Promise<TestRoot> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-images-'));
  const layout = new DataLayout(join(dir, 'data'), join(dir, 'exec'));
  const addon = testAddon();
  const using = new Map<string, string[]>();
  const running = new Set<string>();
  const users = { using, running, containersUsing: (id: string) => using.get(id) ?? [], isRunning: (c: string) => running.has(c) };
  const images = createImageService({ layout, addon, users });
  await images.init();
  return { dir, layout, addon, users, images, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** An image config for the given layer tars (uncompressed), Docker-style. */
export function imageConfig(layers: readonly Buffer[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-02T03:04:05.123456789Z',
      config: { Cmd: ['sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256Of(l)) },
      history: layers.map((_, i) => ({ created: '2024-01-02T03:04:05Z', created_by: `step ${i}` })),
      ...extra,
    }),
  );
}
