import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { readTar } from '../../../runtime-agent/src/files/tar-reader.js';
import { encodePax } from '../../../runtime-agent/src/files/pax.js';
import { buildTar, chunks } from './fixtures.js';

interface Seen {
  name: string;
  type: string;
  size: number;
  uid: number;
  linkname: string;
  data: string;
  xattrs: Record<string, string>;
}

/** Reads a tar fed in `chunkSize` pieces (headers and data split across chunks). */
async function entries(archive: Buffer, chunkSize = 7): Promise<Seen[]> {
  const seen: Seen[] = [];
  for await (const e of readTar(Readable.from(chunks(archive, chunkSize)))) {
    const parts: Buffer[] = [];
    for await (const c of e.body()) parts.push(Buffer.from(c));
    const xattrs = Object.fromEntries([...e.xattrs].map(([k, v]) => [k, v.toString('hex')]));
    seen.push({ name: e.name, type: e.type, size: e.size, uid: e.uid, linkname: e.linkname, data: Buffer.concat(parts).toString(), xattrs });
  }
  return seen;
}

async function failure(archive: Buffer): Promise<string> {
  try {
    await entries(archive, 512);
    return 'ok';
  } catch (err) {
    expect(isBerthError(err, 'invalid-parameter')).toBe(true);
    return (err as Error).message;
  }
}

describe('readTar', () => {
  let dir: string;
  const longName = `${'a'.repeat(150)}/${'b'.repeat(150)}`;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-tar-reader-'));
    mkdirSync(join(dir, 'src', 'a'.repeat(150)), { recursive: true });
    writeFileSync(join(dir, 'src', longName), 'long');
    writeFileSync(join(dir, 'src', 'f'), 'x'.repeat(1000));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['gnu', 'pax', 'ustar'])('reads what GNU tar writes in %s format, fed in odd-sized chunks', async (format) => {
    const args = ['-C', join(dir, 'src'), `--format=${format}`, '--numeric-owner', '-cf', '-', 'f', ...(format === 'ustar' ? [] : [longName])];
    const seen = await entries(execFileSync('tar', args));
    expect(seen[0]).toMatchObject({ name: 'f', type: 'file', size: 1000, data: 'x'.repeat(1000) });
    if (format !== 'ustar') expect(seen[1]).toMatchObject({ name: longName, type: 'file', data: 'long' });
  });

  it('applies PAX records (binary values kept), base-256 numbers and skips hardlink bodies', async () => {
    const pax = encodePax([
      ['path', Buffer.from('pax/name')],
      ['uid', Buffer.from('3000000')],
      ['SCHILY.xattr.security.capability', Buffer.from([0x01, 0xff, 0x00])],
    ]);
    const archive = await buildTar([
      { name: 'PaxHeader', type: 'pax-header', data: pax },
      { name: 'short', data: 'body' },
      { name: 'dir', type: 'directory' },
      { name: 'hl', type: 'link', linkname: 'pax/name' },
      { name: 'after', data: 'z' },
    ]);
    // base-256 uid in the 'after' entry: rewrite its uid field and checksum by hand
    const seen = await entries(archive);
    expect(seen.map((s) => s.name)).toEqual(['pax/name', 'dir', 'hl', 'after']);
    expect(seen[0]).toMatchObject({ uid: 3_000_000, data: 'body', xattrs: { 'security.capability': '01ff00' } });
    expect(seen[2]).toMatchObject({ type: 'link', linkname: 'pax/name', data: '' });
    const big = Buffer.from(archive);
    const at = archive.length - 1024 - 1024; // the 'after' header (its data block follows)
    expect(big.toString('latin1', at, at + 5)).toBe('after');
    big.fill(0, at + 108, at + 116);
    big[at + 108] = 0x80;
    big.writeUInt32BE(4_000_000_000, at + 112);
    big.write('        ', at + 148, 'latin1');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += big[at + i] as number;
    big.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
    expect((await entries(big)).at(-1)).toMatchObject({ name: 'after', uid: 4_000_000_000 });
  });

  it('refuses corrupt, truncated and oversized input', async () => {
    const archive = await buildTar([{ name: 'f', data: 'x'.repeat(2000) }]);
    const corrupt = Buffer.from(archive);
    corrupt[0] = 0x41;
    expect(await failure(corrupt)).toMatch(/checksum/);
    expect(await failure(archive.subarray(0, 1000))).toMatch(/ends in the middle of an entry/);
    expect(await failure(archive.subarray(0, 300))).toMatch(/ends in the middle of a header/);
    expect(await failure(Buffer.alloc(0))).toBe('ok');
    const huge = await buildTar([{ name: 'PaxHeader', type: 'pax-header', data: Buffer.alloc(2 * 1024 * 1024, 0x20) }]);
    expect(await failure(huge)).toMatch(/extended header/);
  });
});
