import { afterAll, describe, expect, it } from 'vitest';
import { BuildContexts, classicBuild, contextTar, tarBuffer } from '../support/build-context.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useRegistry } from '../support/registry.js';
import { useDaemon } from '../support/suite.js';

// `DOCKER_BUILDKIT=0 docker build` and dockerode's buildImage against berthd's classic
// builder: every instruction, multi-stage builds, --target, build args, .dockerignore, -f,
// several -t, --label, -q, ONBUILD, scratch, history and events.

interface JsonLine {
  stream?: string;
  aux?: { ID?: string };
  error?: string;
}

describe('docker build (classic builder)', () => {
  const daemon = useDaemon({ image: 'oci' });
  const registry = useRegistry(() => ({ netns: daemon().netns }));
  const contexts = new BuildContexts();
  const images = new Set<string>();

  const docker = async (args: string[]): Promise<string> => {
    const r = await daemon().docker(args);
    expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout.trim();
  };
  /** Builds, expects success, remembers the tags for cleanup; returns the CLI's stdout. */
  const build = async (args: string[]): Promise<string> => {
    const r = await classicBuild(daemon(), args);
    expect(r.code, `docker build ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`).toBe(0);
    for (let i = 0; i < args.length; i++) if (args[i] === '-t') images.add(args[i + 1] as string);
    return r.stdout;
  };
  const inspect = async (image: string, format: string): Promise<unknown> => JSON.parse(await docker(['image', 'inspect', '--format', `{{json ${format}}}`, image]));
  const runIn = (image: string, script: string): Promise<string> => docker(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', image, '-c', script]);

  afterAll(async () => {
    if (images.size > 0) await daemon().docker(['rmi', '-f', ...images]);
    await contexts.cleanup();
  });

  it('runs every instruction and writes the image config Docker would', async () => {
    const dir = await contexts.dir({
      Dockerfile: [
        `ARG BASE=${TEST_IMAGE}`,
        'FROM ${BASE} AS base',
        'ARG GREETING=hello',
        'ENV APP_HOME=/srv/app MODE="two words"',
        'LABEL org.example.name="demo app" version=1',
        'MAINTAINER Ann <ann@example.com>',
        'WORKDIR $APP_HOME',
        'COPY --chown=berth:berth files/ ./files/',
        'COPY --chmod=700 script.sh /usr/local/bin/',
        'ADD archive.tar /opt/',
        'COPY *.txt /texts/',
        'RUN echo "$GREETING from $APP_HOME ($MODE)" > greeting && id -u > /uid',
        'USER berth',
        'EXPOSE 8080 53/udp',
        'VOLUME ["/data"]',
        'SHELL ["/bin/sh", "-ec"]',
        'STOPSIGNAL SIGINT',
        'HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD cat /srv/app/greeting',
        'ONBUILD RUN echo triggered > /tmp/onbuild',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["cat /srv/app/greeting"]',
        '',
      ].join('\n'),
      'files/a': 'file a\n',
      'files/sub/b': 'file b\n',
      'script.sh': '#!/bin/sh\necho script\n',
      'archive.tar': await tarBuffer({ 'x/in-archive': 'from the archive\n' }),
      'one.txt': '1\n',
      'two.txt': '2\n',
    });
    const out = await build(['-t', 'berth.test/all:1', dir]);
    expect(out).toContain('Step 1/21 : ARG BASE=');
    expect(out).toContain('Step 2/21 : FROM ${BASE} AS base');
    expect(out).toMatch(/Step 12\/21 : RUN echo .*\n ---> Running in [0-9a-f]{12}\n/);
    expect(out).toMatch(/Removing intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\n/);
    expect(out).toMatch(/Successfully built [0-9a-f]{12}\nSuccessfully tagged berth\.test\/all:1\n/);

    const config = (await inspect('berth.test/all:1', '.Config')) as Record<string, unknown>;
    expect(config.Env).toEqual(expect.arrayContaining(['APP_HOME=/srv/app', 'MODE=two words']));
    expect((config.Env as string[]).some((e) => e.startsWith('GREETING='))).toBe(false);
    expect(config.Labels).toEqual({ 'org.example.name': 'demo app', version: '1' });
    expect(config.WorkingDir).toBe('/srv/app');
    expect(config.User).toBe('berth');
    expect(config.ExposedPorts).toEqual({ '8080/tcp': {}, '53/udp': {} });
    expect(config.Volumes).toEqual({ '/data': {} });
    expect(config.Shell).toEqual(['/bin/sh', '-ec']);
    expect(config.StopSignal).toBe('SIGINT');
    expect(config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'cat /srv/app/greeting'], Interval: 5e9, Timeout: 2e9, Retries: 3 });
    expect(config.OnBuild).toEqual(['RUN echo triggered > /tmp/onbuild']);
    expect(config.Entrypoint).toEqual(['/bin/sh', '-c']);
    expect(config.Cmd).toEqual(['cat /srv/app/greeting']);
    expect(await inspect('berth.test/all:1', '.Author')).toBe('Ann <ann@example.com>');

    expect(await docker(['run', '--rm', '--network', 'none', 'berth.test/all:1'])).toBe('hello from /srv/app (two words)');
    const files = await runIn(
      'berth.test/all:1',
      'stat -c "%U:%G %n" files/a files/sub/b; stat -c "%a %U" /usr/local/bin/script.sh; cat /opt/x/in-archive; ls /texts; cat /uid; stat -c "%a %U" /srv/app',
    );
    expect(files.split('\n')).toEqual([
      'berth:berth files/a',
      'berth:berth files/sub/b',
      '700 root',
      'from the archive',
      'one.txt',
      'two.txt',
      '0',
      '755 root',
    ]);

    const history = await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'berth.test/all:1']);
    expect(history).toContain('/bin/sh -c #(nop)  ENV APP_HOME=/srv/app MODE=two words');
    expect(history).toContain('/bin/sh -c #(nop) WORKDIR /srv/app');
    expect(history).toMatch(/\/bin\/sh -c #\(nop\) COPY --chown=berth:berth dir:[0-9a-f]{64} in \.\/files\//);
    expect(history).toContain('|1 GREETING=hello /bin/sh -c echo "$GREETING from $APP_HOME ($MODE)" > greeting && id -u > /uid');
    expect(history).toContain('/bin/sh -ec #(nop)  CMD ["cat /srv/app/greeting"]');
  });

  it('FROM an image that is not here pulls it (progress in the output); --pull pulls even when it is', async () => {
    const remote = `${registry().host}/berth/base:1`;
    await docker(['tag', TEST_IMAGE, remote]);
    await docker(['push', remote]);
    await docker(['rmi', remote]);
    images.add(remote);
    const dir = await contexts.dir({ Dockerfile: `FROM ${remote}\nRUN echo pulled > /p\n` });
    const out = await build(['-t', 'berth.test/pulled:1', dir]);
    expect(out).toContain('Pulling from berth/base');
    expect(await docker(['image', 'inspect', '--format', '{{.Id}}', remote])).toMatch(/^sha256:/);
    expect(await runIn('berth.test/pulled:1', 'cat /p')).toBe('pulled');

    const again = await build(['--pull', '-t', 'berth.test/pulled:1', dir]);
    expect(again).toContain('Pulling from berth/base');
    expect(again).toMatch(/RUN echo pulled > \/p\n ---> Using cache\n/);
  });

  it('ONBUILD triggers run when the image is used in FROM, and are not inherited', async () => {
    const parent = await contexts.dir({ Dockerfile: `FROM ${TEST_IMAGE}\nONBUILD RUN echo triggered > /onbuild\nONBUILD ENV CHILD=yes\n` });
    await build(['-t', 'berth.test/onbuild-parent:1', parent]);
    const child = await contexts.dir({ Dockerfile: 'FROM berth.test/onbuild-parent:1\nRUN cat /onbuild\n' });
    const out = await build(['-t', 'berth.test/onbuild-child:1', child]);
    expect(out).toContain('# Executing 2 build triggers');
    expect(out).toContain('triggered\n');
    expect(await inspect('berth.test/onbuild-child:1', '.Config.OnBuild')).toBeNull();
    expect(await inspect('berth.test/onbuild-child:1', '.Config.Env')).toContain('CHILD=yes');
  });

  it('keeps only the final stage: the build stage\'s files are absent unless copied with --from', async () => {
    const dir = await contexts.dir({
      Dockerfile: [
        `FROM ${TEST_IMAGE} AS build`,
        'RUN mkdir -p /out/owned && echo built > /out/artifact && echo secret > /build-only && echo mine > /out/owned/f && chown -R 1234:5678 /out/owned',
        `FROM ${TEST_IMAGE} AS other`,
        'RUN echo other > /other-only',
        'FROM scratch AS files',
        'COPY note.txt /note.txt',
        `FROM ${TEST_IMAGE}`,
        'COPY --from=build /out/artifact /artifact',
        'COPY --from=0 /out/artifact /artifact-by-index',
        'COPY --from=files /note.txt /note.txt',
        `COPY --from=${TEST_IMAGE} /etc/passwd /passwd-from-image`,
        'COPY --from=build /out/owned /kept-owners',
        'COPY --from=build --chown=7:8 /out/owned /chowned',
        '',
      ].join('\n'),
      'note.txt': 'a note\n',
    });
    await build(['-t', 'berth.test/multi:1', dir]);
    const seen = await runIn(
      'berth.test/multi:1',
      'cat /artifact /artifact-by-index /note.txt; head -1 /passwd-from-image; for f in /build-only /other-only /out; do test -e $f && echo "leaked $f"; done; true',
    );
    expect(seen).toBe('built\nbuilt\na note\nroot:x:0:0:root:/root:/bin/sh');
    // --from without --chown keeps the source's owners (moby's preserveOwnership); from the context, root.
    const owners = await runIn('berth.test/multi:1', 'stat -c "%n %u:%g" /kept-owners/f /chowned/f /note.txt /artifact');
    expect(owners).toBe('/kept-owners/f 1234:5678\n/chowned/f 7:8\n/note.txt 0:0\n/artifact 0:0');
  });

  it('--target builds the stages up to the named one and tags it', async () => {
    const dir = await contexts.dir({
      Dockerfile: `FROM ${TEST_IMAGE} AS first\nRUN echo first > /first\nFROM scratch AS empty\nCOPY f /f\nFROM first AS last\nRUN echo last > /last\n`,
      f: 'f\n',
    });
    const out = await build(['--target', 'first', '-t', 'berth.test/target:first', dir]);
    expect(out).toContain('Step 2/2 : RUN echo first > /first');
    expect(out).not.toContain('/last');
    expect(await runIn('berth.test/target:first', 'cat /first; test -e /last || echo no-last')).toBe('first\nno-last');
    await build(['--target', 'empty', '-t', 'berth.test/target:empty', dir]);
    expect(((await inspect('berth.test/target:empty', '.RootFS.Layers')) as string[]).length).toBe(1);
    await build(['--target', 'last', '-t', 'berth.test/target:last', dir]);
    expect(await runIn('berth.test/target:last', 'cat /first /last')).toBe('first\nlast');
  });

  it('build args: defaults, --build-arg, meta ARGs, stage scope, proxy args, unused ones', async () => {
    const dir = await contexts.dir({
      Dockerfile: [
        'ARG VERSION=1.0',
        `ARG IMAGE=${TEST_IMAGE}`,
        'FROM $IMAGE AS a',
        'ARG VERSION',
        'ARG NAME=default',
        'ARG EMPTY',
        'ENV FROM_ARG=$NAME',
        'RUN echo "v=$VERSION n=$NAME e=[$EMPTY] i=[$IMAGE]" > /args && echo "$HTTP_PROXY" > /proxy',
        `FROM ${TEST_IMAGE}`,
        'RUN echo "[$NAME]" > /scope',
        '',
      ].join('\n'),
    });
    const given = ['--build-arg', 'NAME=given', '--build-arg', 'HTTP_PROXY=http://proxy.invalid:3128'];
    const out = await build([...given, '--build-arg', 'NOT_DECLARED=x', '-t', 'berth.test/args:final', dir]);
    expect(out).toContain('[Warning] One or more build-args [NOT_DECLARED] were not consumed');
    expect(await runIn('berth.test/args:final', 'cat /scope')).toBe('[]');

    const stage = await build([...given, '--target', 'a', '-t', 'berth.test/args:stage', dir]);
    expect(stage).not.toContain('[Warning]');
    expect(await runIn('berth.test/args:stage', 'cat /args /proxy; echo "env=$FROM_ARG [$NAME] [$VERSION]"')).toBe(
      'v=1.0 n=given e=[] i=[]\nhttp://proxy.invalid:3128\nenv=given [] []',
    );
    const history = await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'berth.test/args:stage']);
    expect(history).toContain('|2 NAME=given VERSION=1.0 /bin/sh -c echo');
    expect(history).not.toContain('proxy.invalid');
  });

  it('.dockerignore, -f, several -t and --label', async () => {
    const dir = await contexts.dir({
      'docker/Custom.dockerfile': `FROM ${TEST_IMAGE}\nCOPY . /ctx/\n`,
      '.dockerignore': 'secret.txt\n*.log\n!keep.log\ndocker\n',
      'secret.txt': 'do not send\n',
      'a.log': 'noise\n',
      'keep.log': 'kept\n',
      'app.txt': 'app\n',
    });
    const out = await build([
      '-f', `${dir}/docker/Custom.dockerfile`, '-t', 'berth.test/ctx:1', '-t', 'berth.test/ctx:2', '-t', 'berth.test/ctx-other',
      '--label', 'com.example.built-by=berth', '--label', 'com.example.quote=it\'s', dir,
    ]);
    expect(out).toContain('Successfully tagged berth.test/ctx:1\nSuccessfully tagged berth.test/ctx:2\nSuccessfully tagged berth.test/ctx-other:latest\n');
    expect(out).toContain('Step 3/4 : LABEL "com.example.built-by"=\'berth\'');
    images.add('berth.test/ctx-other:latest');
    const ids = await Promise.all(['berth.test/ctx:1', 'berth.test/ctx:2', 'berth.test/ctx-other'].map((t) => docker(['image', 'inspect', '--format', '{{.Id}}', t])));
    expect(new Set(ids).size).toBe(1);
    expect(await inspect('berth.test/ctx:1', '.Config.Labels')).toEqual({ 'com.example.built-by': 'berth', 'com.example.quote': "it's" });
    expect(await runIn('berth.test/ctx:1', 'ls -A /ctx')).toBe('.dockerignore\napp.txt\nkeep.log');
  });

  it('-q prints only the image ID', async () => {
    const dir = await contexts.dir({ Dockerfile: `FROM ${TEST_IMAGE}\nRUN echo quiet-output\n` });
    const r = await classicBuild(daemon(), ['-q', '-t', 'berth.test/quiet:1', dir]);
    images.add('berth.test/quiet:1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.stdout).not.toContain('quiet-output');
    expect(await docker(['image', 'inspect', '--format', '{{.Id}}', 'berth.test/quiet:1'])).toBe(r.stdout.trim());
  });

  it('dockerode buildImage with a tar stream: the output stream and the aux ID, an image event for the tag', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const stream = await daemon().dockerode.buildImage(
      contextTar({ Dockerfile: `FROM ${TEST_IMAGE}\nARG WHO\nRUN echo "$WHO" > /who\n` }),
      { t: 'berth.test/dockerode:1', buildargs: { WHO: 'dockerode' } },
    );
    images.add('berth.test/dockerode:1');
    const messages = await new Promise<JsonLine[]>((resolve, reject) => {
      daemon().dockerode.modem.followProgress(stream, (err: Error | null, output: unknown[]) => (err ? reject(err) : resolve(output as JsonLine[])));
    });
    const text = messages.map((m) => m.stream ?? '').join('');
    expect(text).toContain('Step 3/3 : RUN echo "$WHO" > /who');
    expect(messages.some((m) => m.error !== undefined)).toBe(false);
    const ids = messages.filter((m) => m.aux?.ID !== undefined).map((m) => m.aux?.ID);
    const id = await docker(['image', 'inspect', '--format', '{{.Id}}', 'berth.test/dockerode:1']);
    expect(ids[ids.length - 1]).toBe(id);
    expect(await runIn('berth.test/dockerode:1', 'cat /who')).toBe('dockerode');
    const until = Math.ceil(Date.now() / 1000) + 1;
    const events = await docker(['events', '--since', String(since), '--until', String(until), '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    expect(events.split('\n')).toContain('tag berth.test/dockerode:1');
    // The RUN container came and went.
    expect(await docker(['ps', '-aq'])).toBe('');
  });
});
