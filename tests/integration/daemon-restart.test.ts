import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// berthd started again on the same data root finds every image and container as it left them;
// SIGTERM stops running containers first (their exit recorded) and leaves nothing behind.
describe('berthd restart', () => {
  const daemon = useDaemon({ image: 'oci' });
  const docker = (...args: string[]) => daemon().docker(args);

  it('keeps images, containers, their files and logs across a restart', async () => {
    await docker('run', '--name', 'kept', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo persisted > /data.txt; echo said-before');
    await docker('run', '-d', '--name', 'running', '--network', 'none', TEST_IMAGE, 'sleep', '300');
    await docker('tag', TEST_IMAGE, 'berth.test/renamed:v1');
    const imageList = async () => (await docker('images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}')).stdout.split('\n').sort();
    const imagesBefore = await imageList();
    expect(imagesBefore.join()).toMatch(/berth.test\/renamed:v1/);

    await daemon().restart();

    expect(await imageList()).toEqual(imagesBefore);
    const ps = (await docker('ps', '-a', '--format', '{{.Names}} {{.Status}}')).stdout;
    expect(ps).toMatch(/^kept Exited \(0\)/m);
    // The running one was stopped by SIGTERM's cleanup: sleep ignores TERM as PID 1, so it was killed.
    expect(ps).toMatch(/^running Exited \(137\)/m);
    expect((await docker('logs', 'kept')).stdout).toBe('said-before\n');
    const again = await docker('start', '-a', 'kept');
    expect(again.stdout).toBe('said-before\n');
    const files = await docker('run', '--rm', '--network', 'none', TEST_IMAGE, 'cat', '/data.txt');
    expect(files.code).not.toBe(0); // another container never sees it
    expect((await docker('start', 'running')).code).toBe(0);
    await docker('rm', '-f', 'kept', 'running');
  });
});
