import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveUser } from '../../../runtime-agent/src/containers/user.js';

describe('resolveUser', () => {
  let lower: string;
  let upper: string;
  beforeAll(() => {
    lower = mkdtempSync(join(tmpdir(), 'berth-user-lower-'));
    upper = mkdtempSync(join(tmpdir(), 'berth-user-upper-'));
    mkdirSync(join(lower, 'etc'));
    writeFileSync(join(lower, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000:Berth:/home/berth:/bin/sh\n');
    writeFileSync(join(lower, 'etc/group'), 'root:x:0:\nberth:x:1000:\nstaff:x:50:berth\n');
  });
  afterAll(() => {
    rmSync(lower, { recursive: true, force: true });
    rmSync(upper, { recursive: true, force: true });
  });

  it('defaults to root with its home', async () => {
    expect(await resolveUser(undefined, [upper, lower])).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });
  it('resolves names from the image passwd and group files, with supplementary groups', async () => {
    expect(await resolveUser('berth', [upper, lower])).toEqual({ uid: 1000, gid: 1000, additionalGids: [50], home: '/home/berth' });
    expect(await resolveUser('berth:staff', [upper, lower])).toMatchObject({ uid: 1000, gid: 50, additionalGids: [] });
  });
  it('accepts numeric ids that have no passwd entry', async () => {
    expect(await resolveUser('4242:77', [upper, lower])).toMatchObject({ uid: 4242, gid: 77 });
    expect(await resolveUser('1000', [upper, lower])).toMatchObject({ uid: 1000, gid: 1000 });
  });
  it('prefers the container\'s own writable layer', async () => {
    mkdirSync(join(upper, 'etc'), { recursive: true });
    writeFileSync(join(upper, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnewbie:x:1234:1234::/home/newbie:/bin/sh\n');
    expect(await resolveUser('newbie', [upper, lower])).toMatchObject({ uid: 1234, gid: 1234 });
  });
  it('refuses unknown names with Docker\'s message', async () => {
    await expect(resolveUser('nobody-here', [upper, lower])).rejects.toThrow('unable to find user nobody-here: no matching entries in passwd file');
    await expect(resolveUser('root:nogroup', [upper, lower])).rejects.toThrow('unable to find group nogroup');
  });
});
