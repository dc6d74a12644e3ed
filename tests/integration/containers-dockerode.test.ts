import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// The same engine driven by dockerode, as the app will drive it.
describe('dockerode', () => {
  const daemon = useDaemon({ image: 'oci' });

  it('create, attach, start, wait, logs, inspect and remove', async () => {
    const docker = daemon().dockerode;
    const container = await docker.createContainer({
      Image: TEST_IMAGE,
      name: 'node-client',
      Cmd: ['sh', '-c', 'echo from-stdout; echo from-stderr >&2; exit 4'],
      HostConfig: { NetworkMode: 'none', Memory: 32 * 1024 * 1024 },
      Labels: { via: 'dockerode' },
    });
    const stream = await container.attach({ stream: true, stdout: true, stderr: true, hijack: true });
    const out = new PassThrough();
    const err = new PassThrough();
    let stdout = '';
    let stderr = '';
    out.on('data', (c: Buffer) => (stdout += c.toString()));
    err.on('data', (c: Buffer) => (stderr += c.toString()));
    docker.modem.demuxStream(stream, out, err);
    const waited = container.wait({ condition: 'next-exit' });
    await container.start();
    expect(await waited).toEqual({ StatusCode: 4 });
    await new Promise((r) => setTimeout(r, 100));
    expect(stdout).toBe('from-stdout\n');
    expect(stderr).toBe('from-stderr\n');

    const info = await container.inspect();
    expect(info.State.ExitCode).toBe(4);
    expect(info.Config.Labels).toEqual({ via: 'dockerode' });
    expect(info.HostConfig.Memory).toBe(32 * 1024 * 1024);

    const logs = await container.logs({ stdout: true, stderr: true, follow: false });
    expect(logs.toString()).toContain('from-stdout');

    const list = await docker.listContainers({ all: true, filters: { label: ['via=dockerode'] } });
    expect(list.map((c) => c.Names[0])).toEqual(['/node-client']);
    expect(list[0]?.State).toBe('exited');

    await container.remove();
    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('reports errors with the status codes dockerode maps', async () => {
    const docker = daemon().dockerode;
    await expect(docker.createContainer({ Image: 'berth.test/absent:1' })).rejects.toMatchObject({ statusCode: 404 });
    await expect(docker.getContainer('missing').start()).rejects.toMatchObject({ statusCode: 404 });
    const c = await docker.createContainer({ Image: TEST_IMAGE, name: 'dup', Cmd: ['true'] });
    await expect(docker.createContainer({ Image: TEST_IMAGE, name: 'dup', Cmd: ['true'] })).rejects.toMatchObject({ statusCode: 409 });
    await c.remove();
  });
});
