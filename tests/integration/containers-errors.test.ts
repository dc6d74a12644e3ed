import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

function rawRequest(socket: string, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Bad input gets Docker's status and a message that says what to fix, and leaves nothing behind.
describe('bad requests', () => {
  const daemon = useDaemon({ image: 'oci' });
  const docker = (...args: string[]) => daemon().docker(args);
  const count = async () => (await docker('ps', '-aq')).stdout.split('\n').filter(Boolean).length;

  it('refuses each kind of bad create with a clear error and no half-made container', async () => {
    const before = await count();
    const cases: [string[], RegExp][] = [
      [['create', '--pull', 'never', 'berth.test/nothing:here', 'true'], /No such image: berth.test\/nothing:here/],
      [['create', '--name', 'bad name!', TEST_IMAGE, 'true'], /Invalid container name \(bad name!\)/],
      [['create', '--memory', '1k', TEST_IMAGE, 'true'], /Minimum memory limit allowed is 6MB/],
      [['create', '--memory', '64m', '--memory-swap', '32m', TEST_IMAGE, 'true'], /Minimum memoryswap limit should be larger than memory limit/],
      [['create', '--cpuset-cpus', '64', TEST_IMAGE, 'true'], /Requested CPUs are not available/],
      [['create', '--cap-add', 'FLY', TEST_IMAGE, 'true'], /unknown capability/],
      [['create', '--network', 'nowhere', TEST_IMAGE, 'true'], /network nowhere not found/],
      [['create', '-w', 'relative', TEST_IMAGE, 'true'], /needs to be an absolute path/],
      [['create', '--stop-signal', 'SIGNOPE', TEST_IMAGE, 'true'], /Invalid signal: SIGNOPE/],
      [['create', '--log-driver', 'syslog', TEST_IMAGE, 'true'], /logging driver "syslog" is not supported/],
    ];
    for (const [args, message] of cases) {
      const r = await docker(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(await count()).toBe(before);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(`${daemon().dataRoot}/containers`)).toHaveLength(before);
  });

  it('409 on a name conflict, naming the holder', async () => {
    expect((await docker('create', '--name', 'taken', TEST_IMAGE, 'true')).code).toBe(0);
    const r = await docker('create', '--name', 'taken', TEST_IMAGE, 'true');
    expect(r.stderr).toMatch(/Conflict. The container name "\/taken" is already in use by container "[0-9a-f]{64}"/);
    await docker('rm', 'taken');
  });

  it('answers the raw API with Docker\'s statuses and {"message"} bodies', async () => {
    const sock = daemon().socket;
    const malformed = await rawRequest(sock, 'POST', '/v1.43/containers/create', '{"Image": ');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toEqual({ message: expect.stringMatching(/invalid JSON/) as unknown });
    const noImage = await rawRequest(sock, 'POST', '/v1.43/containers/create', '{}');
    expect(noImage.status).toBe(400);
    const unknown = await rawRequest(sock, 'GET', '/v1.43/containers/deadbeef/json');
    expect(unknown).toEqual({ status: 404, body: JSON.stringify({ message: 'No such container: deadbeef' }) });
    expect((await rawRequest(sock, 'POST', '/v1.43/containers/deadbeef/start')).status).toBe(404);
    expect((await rawRequest(sock, 'GET', '/v1.99/containers/json')).status).toBe(400);
    expect((await rawRequest(sock, 'GET', '/v1.43/nothing/here')).status).toBe(404);
    expect((await rawRequest(sock, 'GET', '/v1.43/containers/json?filters=notjson')).status).toBe(400);
    expect((await rawRequest(sock, 'GET', '/v1.43/containers/json?filters={"colour":["red"]}')).status).toBe(400);
    expect((await rawRequest(sock, 'POST', '/v1.43/containers/create', '[1,2]')).status).toBe(400);
    // berthd is still answering after all of that.
    expect((await rawRequest(sock, 'GET', '/_ping')).body).toBe('OK');
  });

  it('start of a running container is a no-op (304) and stop of a stopped one too', async () => {
    await docker('run', '-d', '--name', 'twice', '--network', 'none', TEST_IMAGE, 'sleep', '300');
    expect((await docker('start', 'twice')).code).toBe(0);
    const sock = daemon().socket;
    expect((await rawRequest(sock, 'POST', '/v1.43/containers/twice/start')).status).toBe(304);
    await docker('stop', '-t', '0', 'twice');
    expect((await rawRequest(sock, 'POST', '/v1.43/containers/twice/stop')).status).toBe(304);
    await docker('rm', 'twice');
  });
});
