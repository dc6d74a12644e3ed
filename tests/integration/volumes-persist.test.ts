import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// The data-survives proof: what a container writes into a volume outlives the container and a
// berthd restart, and a new container (CLI or dockerode) reads it back.
describe('volume data survives', () => {
  const daemon = useDaemon({ image: 'oci' });
  const docker = (...args: string[]) => daemon().docker(args);

  it('a docker rm and a berthd restart', async () => {
    const w = await docker('run', '--name', 'writer', '--network', 'none', '-v', 'keep:/data', TEST_IMAGE, 'sh', '-c',
      'echo survives > /data/proof; mkdir /data/dir; echo nested > /data/dir/n; chown 1000:1000 /data/dir');
    expect(w.code, w.stderr).toBe(0);
    // A stopped container keeps an anonymous volume of its own across the restart too.
    const anon = await docker('run', '--name', 'anon-holder', '--network', 'none', '-v', '/scratch', TEST_IMAGE, 'sh', '-c', 'echo anon > /scratch/a');
    expect(anon.code, anon.stderr).toBe(0);
    expect((await docker('rm', 'writer')).code).toBe(0);

    await daemon().restart();

    const r = await docker('run', '--rm', '--network', 'none', '-v', 'keep:/data:ro', TEST_IMAGE, 'sh', '-c', 'cat /data/proof /data/dir/n; stat -c %u:%g /data/dir');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('survives\nnested\n1000:1000\n');
    expect((await docker('start', '-a', 'anon-holder')).code).toBe(0);
    const anonRead = await docker('run', '--rm', '--network', 'none', '--volumes-from', 'anon-holder', TEST_IMAGE, 'cat', '/scratch/a');
    expect(anonRead.stdout).toBe('anon\n');

    // dockerode: a container made through the API with HostConfig.Binds reads the same data.
    const dockerode = daemon().dockerode;
    const c = await dockerode.createContainer({ Image: TEST_IMAGE, Cmd: ['cat', '/v/proof'], HostConfig: { Binds: ['keep:/v'], NetworkMode: 'none' } });
    try {
      const info = await c.inspect();
      expect(info.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: 'keep', Destination: '/v', RW: true, Mode: 'z' })]);
      await c.start();
      expect((await c.wait()).StatusCode).toBe(0);
      const logs = await c.logs({ stdout: true });
      expect(logs.subarray(8).toString()).toBe('survives\n');
    } finally {
      await c.remove({ v: true, force: true });
    }
    await docker('rm', '-v', 'anon-holder');
    expect((await docker('volume', 'ls', '-q')).stdout.trim()).toBe('keep');
    expect((await docker('volume', 'rm', 'keep')).code).toBe(0);
  });
});
