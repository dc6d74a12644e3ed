import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, invalid } from '../errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

/**
 * Reads a file as the container would see it at start: the writable layer first, then
 * the image layers top-most first. (An overlay whiteout of the file is rare enough for
 * passwd/group that a missing file in an upper layer simply falls through.)
 */
async function readLayered(dirs: readonly string[], path: string): Promise<string | undefined> {
  for (const dir of dirs) {
    try {
      return await readFile(join(dir, path), 'utf8');
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
  }
  return undefined;
}

function parseDb(text: string | undefined): string[][] {
  if (text === undefined) return [];
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/**
 * Resolves `-u` as Docker does: `uid`, `uid:gid`, `name`, `name:group`, mixing numbers and
 * names; names come from the container's /etc/passwd and /etc/group. Supplementary groups
 * are the user's groups from /etc/group plus `--group-add`.
 */
export async function resolveUser(
  spec: string | undefined,
  dirs: readonly string[],
  groupAdd: readonly string[] = [],
): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = (spec ?? '').split(':', 2);
  const passwd = parseDb(await readLayered(dirs, 'etc/passwd'));
  const group = parseDb(await readLayered(dirs, 'etc/group'));

  let uid = 0;
  let gid = 0;
  let home = '/';
  let userName: string | undefined;
  if (userPart === '') {
    const root = passwd.find((e) => e[2] === '0');
    if (root) {
      home = root[5] ?? '/';
      userName = root[0];
    }
  } else {
    const entry = passwd.find((e) => e[0] === userPart) ?? (/^\d+$/.test(userPart) ? passwd.find((e) => e[2] === userPart) : undefined);
    if (entry) {
      uid = Number(entry[2]);
      gid = Number(entry[3]);
      home = entry[5] ?? '/';
      userName = entry[0];
    } else if (/^\d+$/.test(userPart)) {
      uid = Number(userPart);
    } else {
      throw invalid(`unable to find user ${userPart}: no matching entries in passwd file`);
    }
  }
  if (groupPart !== undefined && groupPart !== '') gid = lookupGroup(group, groupPart);

  const additional = new Set<number>();
  if (userName !== undefined && groupPart === undefined) {
    for (const g of group) {
      const members = (g[3] ?? '').split(',');
      if (members.includes(userName)) additional.add(Number(g[2]));
    }
  }
  for (const g of groupAdd) additional.add(lookupGroup(group, g));
  if (uid > 2 ** 31 - 1 || gid > 2 ** 31 - 1) throw invalid(`user ${spec ?? ''}: uids and gids must be below 2^31`);
  return { uid, gid, additionalGids: [...additional].filter((g) => Number.isFinite(g)), home };
}

function lookupGroup(group: string[][], name: string): number {
  const entry = group.find((e) => e[0] === name);
  if (entry) return Number(entry[2]);
  if (/^\d+$/.test(name)) return Number(name);
  throw invalid(`unable to find group ${name}: no matching entries in group file`);
}
