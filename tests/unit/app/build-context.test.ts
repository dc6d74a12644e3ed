import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBuildContext, packBuildContext } from '../../../electron/main/services/build-context.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-ctx-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

async function entries(dir: string, dockerfile?: string): Promise<Map<string, { type: string; uid: number; body: string }>> {
  const stream = packBuildContext(await checkBuildContext(dir, dockerfile));
  const extract = tar.extract();
  const out = new Map<string, { type: string; uid: number; body: string }>();
  await new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on('data', (c: Buffer) => chunks.push(c));
      body.on('end', () => {
        out.set(header.name, { type: header.type ?? 'file', uid: header.uid ?? -1, body: Buffer.concat(chunks).toString() });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    stream.on('error', reject);
    stream.pipe(extract);
  });
  return out;
}

describe('packBuildContext', () => {
  it('sends the folder as root-owned entries, leaving out what .dockerignore names but never the Dockerfile', async () => {
    const dir = await folder({
      'Dockerfile': 'FROM scratch\n',
      '.dockerignore': 'node_modules\n*.log\nDockerfile\nsub/secret\n',
      'app.js': 'ok',
      'debug.log': 'no',
      'node_modules/x/index.js': 'no',
      'sub/keep.txt': 'yes',
      'sub/secret': 'no',
    });
    await symlink('app.js', join(dir, 'link'));
    const got = await entries(dir);
    expect([...got.keys()].sort()).toEqual(['.dockerignore', 'Dockerfile', 'app.js', 'link', 'sub', 'sub/keep.txt']);
    expect(got.get('app.js')).toEqual({ type: 'file', uid: 0, body: 'ok' });
    expect(got.get('link')?.type).toBe('symlink');
    expect(got.get('sub')?.type).toBe('directory');
  });

  it('refuses a relative path, a missing folder, a file, and a missing Dockerfile, saying which', async () => {
    await expect(checkBuildContext('app', undefined)).rejects.toThrow(/absolute path/);
    await expect(checkBuildContext('/no/such/dir', undefined)).rejects.toThrow(/no folder \/no\/such\/dir/);
    const dir = await folder({ 'a.txt': 'x' });
    await expect(checkBuildContext(join(dir, 'a.txt'), undefined)).rejects.toThrow(/is a file, not a folder/);
    await expect(checkBuildContext(dir, undefined)).rejects.toThrow(/no Dockerfile named Dockerfile/);
    await expect(checkBuildContext(dir, '../Dockerfile')).rejects.toThrow(/inside the build folder/);
  });
});
