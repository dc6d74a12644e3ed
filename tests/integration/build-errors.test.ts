import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { httpCall, httpStream } from '../support/berth-http.js';
import { BuildContexts, classicBuild, contextTar, tarBuffer } from '../support/build-context.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

// Builds that fail: the message names the Dockerfile line (and RUN's exit code), nothing is
// tagged, no build container, hold or mount is left (the suite's leak check), and the steps
// that succeeded stay in the cache. Refusals before the build starts are 400s.

describe('docker build errors', () => {
  const daemon = useDaemon({ image: 'oci' });
  const contexts = new BuildContexts();

  const docker = async (args: string[]): Promise<string> => {
    const r = await daemon().docker(args);
    expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout.trim();
  };
  const postBuild = async (query: string, files: Readonly<Record<string, string | Buffer>>) =>
    httpCall(daemon().socket, 'POST', `/v1.43/build${query}`, { body: await tarBuffer(files), headers: { 'Content-Type': 'application/x-tar' } });
  const noContainersLeft = async (): Promise<void> => expect(await docker(['ps', '-aq'])).toBe('');

  afterAll(async () => {
    await daemon().docker(['rmi', '-f', 'berth.test/fixed:1']);
    await contexts.cleanup();
  });

  it('a failing RUN reports its line and exit code, tags nothing and leaves no container', async () => {
    const dir = await contexts.dir({ Dockerfile: `FROM ${TEST_IMAGE}\nRUN echo before > /before\n\nRUN echo on-stdout; echo on-stderr >&2; exit 3\nRUN echo after\n` });
    const r = await classicBuild(daemon(), ['-t', 'berth.test/failing:1', dir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Step 3/4 : RUN echo on-stdout; echo on-stderr >&2; exit 3');
    expect(r.stdout).toContain('on-stdout');
    expect(r.stdout).not.toContain('Step 4/4');
    expect(r.stderr).toContain("The command '/bin/sh -c echo on-stdout; echo on-stderr >&2; exit 3' returned a non-zero code: 3 (Dockerfile line 4)");
    expect(await docker(['images', '-q', 'berth.test/failing'])).toBe('');
    await noContainersLeft();

    // The step that worked is cached; fixing the failing one rebuilds from there.
    await contexts.cleanup();
    const fixed = await contexts.dir({ Dockerfile: `FROM ${TEST_IMAGE}\nRUN echo before > /before\n\nRUN exit 0\nRUN echo after\n` });
    const again = await classicBuild(daemon(), ['-t', 'berth.test/fixed:1', fixed]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Step 2\/4 : RUN echo before > \/before\n ---> Using cache\n/);
    expect(again.stdout).toMatch(/Step 3\/4 : RUN exit 0\n ---> Running in /);
  });

  it('dockerode sees the failure in the stream: errorDetail with the exit code', async () => {
    const stream = await daemon().dockerode.buildImage(contextTar({ Dockerfile: `FROM ${TEST_IMAGE}\nRUN exit 7\n` }), { t: 'berth.test/failing:2' });
    const messages = await new Promise<{ error?: string; errorDetail?: { code?: number; message: string } }[]>((resolve, reject) => {
      daemon().dockerode.modem.followProgress(stream, (err: Error | null, output: unknown[]) => (err ? reject(err) : resolve(output as never)));
    });
    const last = messages[messages.length - 1];
    expect(last?.errorDetail).toEqual({ code: 7, message: "The command '/bin/sh -c exit 7' returned a non-zero code: 7 (Dockerfile line 2)" });
    expect(last?.error).toBe(last?.errorDetail?.message);
    await noContainersLeft();
  });

  it('a Dockerfile that does not parse is a 400 naming the line', async () => {
    const r = await postBuild('', { Dockerfile: `FROM ${TEST_IMAGE}\n# fine\nRUNN echo typo\n` });
    expect(r.status).toBe(400);
    expect(r.message).toContain('line 3');
    expect(r.message).toContain('RUNN');
    const cli = await classicBuild(daemon(), [await contexts.dir({ Dockerfile: 'FROM\n' })]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('line 1');
  });

  it('refusals before the build starts: missing Dockerfile, unknown target, bad tag, bad args, BuildKit, not a tar', async () => {
    expect((await postBuild('?dockerfile=nope.Dockerfile', { Dockerfile: `FROM ${TEST_IMAGE}\n` })).message).toContain('Cannot locate specified Dockerfile: nope.Dockerfile');
    const target = await postBuild('?target=nope', { Dockerfile: `FROM ${TEST_IMAGE} AS one\n` });
    expect([target.status, target.message]).toEqual([400, 'target stage "nope" could not be found']);
    expect((await postBuild('?t=Bad:Tag', { Dockerfile: `FROM ${TEST_IMAGE}\n` })).status).toBe(400);
    expect((await postBuild(`?t=${encodeURIComponent('x@sha256:' + '0'.repeat(64))}`, { Dockerfile: `FROM ${TEST_IMAGE}\n` })).message).toBe('build tag cannot contain a digest');
    expect((await postBuild('?buildargs=notjson', { Dockerfile: `FROM ${TEST_IMAGE}\n` })).status).toBe(400);
    expect((await postBuild('?version=2', { Dockerfile: `FROM ${TEST_IMAGE}\n` })).status).toBe(501);
    const garbage = await httpCall(daemon().socket, 'POST', '/v1.43/build', { body: Buffer.from('this is not a tar archive at all'.repeat(40)) });
    expect(garbage.status).toBe(400);
    await noContainersLeft();
  });

  it('step errors name the line: COPY of a missing file, --chown of an unknown user, ${X:?}, --from out of range, a missing base image', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ Dockerfile: `FROM ${TEST_IMAGE}\nCOPY missing.txt /\n` }, 'missing.txt'],
      [{ Dockerfile: `FROM ${TEST_IMAGE}\nCOPY --chown=nosuchuser f /f\n`, f: 'f' }, 'unable to find user nosuchuser'],
      [{ Dockerfile: `FROM ${TEST_IMAGE}\nWORKDIR \${X:?must be set}\n` }, 'must be set'],
      [{ Dockerfile: `FROM ${TEST_IMAGE}\nCOPY --from=3 /etc/passwd /p\n` }, 'index out of bounds'],
      [{ Dockerfile: 'FROM 127.0.0.1:1/berth-test/absent:1\nRUN true\n' }, '127.0.0.1:1'],
    ];
    for (const [files, text] of cases) {
      const line = files.Dockerfile?.startsWith('FROM 127') ? 1 : 2;
      const r = await classicBuild(daemon(), ['-t', 'berth.test/failing:3', await contexts.dir(files)]);
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toContain(text);
      expect(r.stderr).toContain(`(Dockerfile line ${line})`);
    }
    expect(await docker(['images', '-q', 'berth.test/failing'])).toBe('');
    await noContainersLeft();
  });

  it('a client that goes away cancels the build: its RUN container is killed and removed', async () => {
    const res = await httpStream(daemon().socket, 'POST', '/v1.43/build?t=berth.test/cancelled:1', {
      body: await tarBuffer({ Dockerfile: `FROM ${TEST_IMAGE}\nRUN echo running-$((20+22)); sleep 60\n` }),
      headers: { 'Content-Type': 'application/x-tar' },
    });
    expect(res.statusCode).toBe(200);
    let seen = '';
    for await (const chunk of res) {
      seen += (chunk as Buffer).toString();
      if (seen.includes('running-42')) break;
    }
    res.destroy();
    for (let i = 0; i < 100 && (await docker(['ps', '-aq'])) !== ''; i++) await sleep(100);
    await noContainersLeft();
    expect(await docker(['images', '-q', 'berth.test/cancelled'])).toBe('');
  });

  it('a RUN container a crash of berthd left behind is removed at its next start', async () => {
    const res = await httpStream(daemon().socket, 'POST', '/v1.43/build?t=berth.test/crashed:1', {
      body: await tarBuffer({ Dockerfile: `FROM ${TEST_IMAGE}\nRUN echo running-$((40+2)); sleep 60\n` }),
      headers: { 'Content-Type': 'application/x-tar' },
    });
    expect(res.statusCode).toBe(200);
    let seen = '';
    for await (const chunk of res) {
      seen += (chunk as Buffer).toString();
      if (seen.includes('running-42')) break;
    }
    expect((await daemon().stop('SIGKILL')).signal).toBe('SIGKILL');
    res.destroy();
    await daemon().restart();
    await noContainersLeft();
    expect(await docker(['images', '-q', 'berth.test/crashed'])).toBe('');
  });
});
