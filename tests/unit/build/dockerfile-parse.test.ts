import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../../runtime-agent/src/build/dockerfile/parse.js';
import { booleanFlag } from '../../../runtime-agent/src/build/dockerfile/flags.js';
import { parseGoDuration } from '../../../runtime-agent/src/build/dockerfile/duration.js';
import type { Dockerfile, Instruction } from '../../../runtime-agent/src/build/dockerfile/types.js';

/** The message and code of what parsing `text` throws. */
function refusal(text: string): { code: string | undefined; message: string } {
  try {
    parseDockerfile(text);
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  }
  throw new Error(`expected parsing to fail:\n${text}`);
}

/** The instructions of the only stage after `FROM scratch`. */
function body(text: string): readonly Instruction[] {
  return parseDockerfile(`FROM scratch\n${text}`).stages[0]?.instructions ?? [];
}

/** The one instruction written after `FROM scratch`. */
function one(text: string): Instruction {
  const instructions = body(text);
  expect(instructions).toHaveLength(1);
  return instructions[0] as Instruction;
}

/** keyword, args, json and line of every instruction, for compact expectations. */
function shape(file: Dockerfile): [string, readonly string[], boolean, number][] {
  return file.stages.flatMap((stage) => [stage.from, ...stage.instructions]).map((i) => [
    i.keyword,
    i.args,
    i.json,
    i.line,
  ]);
}

describe('parseDockerfile: lines, comments and continuations', () => {
  it('reads keywords case-insensitively with their line numbers', () => {
    const file = parseDockerfile('from busybox\n\nrun echo hi\n  Cmd ["sh"]\n');
    expect(shape(file)).toEqual([
      ['FROM', ['busybox'], false, 1],
      ['RUN', ['echo hi'], false, 3],
      ['CMD', ['sh'], true, 4],
    ]);
    expect(file.escape).toBe('\\');
    expect(file.syntax).toBeUndefined();
  });

  it('keeps the instruction as written (trimmed, continuations joined) in original', () => {
    expect(one('  RUN echo a \\\n   b   ').original).toBe('RUN echo a    b');
  });

  it.each([
    ['continuation', 'RUN echo a \\\n  b', 'echo a   b'],
    ['blanks after the escape still continue', 'RUN echo a \\  \t\n b', 'echo a  b'],
    ['comments inside a continuation are dropped', 'RUN apt-get update \\\n# a comment\n  && echo ok', 'apt-get update   && echo ok'],
    ['indented comments too', 'RUN a \\\n    # indented\n b', 'a  b'],
    ['empty lines inside a continuation are skipped', 'RUN a \\\n\n   \n b', 'a  b'],
    ['several continuations', 'RUN a\\\nb\\\nc', 'abc'],
    ['CRLF line ends', 'RUN a \\\r\n b\r\n', 'a  b'],
    ['an escaped escape at the end does not continue', 'RUN echo a\\\\', 'echo a\\\\'],
    ['a lone escape line continues', 'RUN a \\\n\\\n b', 'a  b'],
    ['a continuation at end of file ends the instruction', 'RUN echo a \\', 'echo a'],
    ['a continuation followed only by comments at EOF', 'RUN echo a \\\n# done\n', 'echo a'],
  ])('%s', (_name, text, expected) => {
    const instruction = one(text);
    expect(instruction.keyword).toBe('RUN');
    expect(instruction.args).toEqual([expected]);
    expect(instruction.line).toBe(2);
  });

  it('counts comment and continuation lines for the next instruction', () => {
    const file = parseDockerfile('# top\nFROM a\n# c\nRUN x \\\n y \\\n\n z\n\nUSER me\n');
    expect(shape(file).map(([keyword, , , line]) => [keyword, line])).toEqual([
      ['FROM', 2],
      ['RUN', 4],
      ['USER', 9],
    ]);
  });

  it('treats # after the start of a line as part of the arguments', () => {
    expect(one('RUN echo hi # not a comment').args).toEqual(['echo hi # not a comment']);
  });

  it('strips a UTF-8 byte order mark', () => {
    expect(parseDockerfile('\uFEFFFROM a\n').stages[0]?.from.args).toEqual(['a']);
  });
});

describe('parseDockerfile: parser directives', () => {
  it('reads escape and syntax at the top, case-insensitively and with blanks', () => {
    const file = parseDockerfile('# syntax=docker/dockerfile:1\n#  ESCAPE = `\nFROM a\n');
    expect(file.escape).toBe('`');
    expect(file.syntax).toBe('docker/dockerfile:1');
  });

  it.each([
    ['#escape=`'],
    ['# escape =`'],
    ['#\tescape= `'],
    ['# escape = `'],
    ['#\t  eScApE=`'],
  ])('accepts the reference spacing variant %j', (directive) => {
    expect(parseDockerfile(`${directive}\nFROM a\n`).escape).toBe('`');
  });

  it.each([
    ['after an instruction', 'FROM a\n# escape=`\nRUN x'],
    ['after a blank line', '\n# escape=`\nFROM a'],
    ['after a comment', '# about\n# escape=`\nFROM a'],
    ['after an unknown directive', '# unknowndirective=value\n# escape=`\nFROM a'],
    ['with a continuation in it (a comment)', '# esc \\\n# escape=`\nFROM a'],
  ])('is a comment %s', (_name, text) => {
    expect(parseDockerfile(text).escape).toBe('\\');
  });

  it('Windows example: with escape=` a trailing backslash is an ordinary character', () => {
    const file = parseDockerfile(
      '# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n',
    );
    expect(shape(file)).toEqual([
      ['FROM', ['microsoft/nanoserver'], false, 3],
      ['COPY', ['testfile.txt c:\\'], false, 4],
      ['RUN', ['dir c:\\'], false, 5],
    ]);
  });

  it('Windows example without the directive: the backslash continues into the next line', () => {
    const file = parseDockerfile('FROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n');
    expect(shape(file)).toEqual([
      ['FROM', ['microsoft/nanoserver'], false, 1],
      ['COPY', ['testfile.txt c:RUN dir c:'], false, 2],
    ]);
  });

  it('backtick continuations', () => {
    const file = parseDockerfile('# escape=`\nFROM a\nRUN echo a `\n  b\n');
    expect(file.stages[0]?.instructions[0]?.args).toEqual(['echo a   b']);
  });

  it.each([
    ['# escape=`\n# escape=\\\nFROM a', 'Dockerfile parse error line 2: only one escape parser directive can be used'],
    ['# syntax=a\n# SYNTAX=b\nFROM a', 'Dockerfile parse error line 2: only one syntax parser directive can be used'],
    ['# escape=x\nFROM a', "Dockerfile parse error line 1: invalid escape token 'x' does not match ` or \\"],
  ])('refuses %j', (text, message) => {
    expect(refusal(text)).toEqual({ code: 'invalid-parameter', message });
  });
});

describe('parseDockerfile: JSON and shell forms', () => {
  it.each([
    ['CMD ["echo", "a"]', 'CMD', ['echo', 'a'], true],
    ['CMD [ "echo" , "a b" ]  ', 'CMD', ['echo', 'a b'], true],
    ['ENTRYPOINT []', 'ENTRYPOINT', [], true],
    ['CMD []', 'CMD', [], true],
    ['RUN ["bad json', 'RUN', ['["bad json'], false],
    ['RUN ["a"] trailing', 'RUN', ['["a"] trailing'], false],
    ["RUN ['single', 'quotes']", 'RUN', ["['single', 'quotes']"], false],
    ['RUN echo "a b"', 'RUN', ['echo "a b"'], false],
    ['CMD ["C:\\\\dir"]', 'CMD', ['C:\\dir'], true],
    ['SHELL ["/bin/bash", "-c"]', 'SHELL', ['/bin/bash', '-c'], true],
    ['COPY ["a b", "c"]', 'COPY', ['a b', 'c'], true],
    ['COPY a b /dst/', 'COPY', ['a b /dst/'], false],
    ['ADD ["http://x/y", "/y"]', 'ADD', ['http://x/y', '/y'], true],
    ['VOLUME ["/a", "/b"]', 'VOLUME', ['/a', '/b'], true],
    ['VOLUME /a /b', 'VOLUME', ['/a /b'], false],
    ['EXPOSE 80/tcp 443', 'EXPOSE', ['80/tcp 443'], false],
    ['USER app:app', 'USER', ['app:app'], false],
    ['WORKDIR /a b', 'WORKDIR', ['/a b'], false],
    ['STOPSIGNAL SIGTERM', 'STOPSIGNAL', ['SIGTERM'], false],
    ['MAINTAINER Jane <j@example.com>', 'MAINTAINER', ['Jane <j@example.com>'], false],
  ])('%s', (text, keyword, args, json) => {
    const instruction = one(text);
    expect(instruction).toMatchObject({ keyword, args, json, flags: {} });
  });

  it('refuses a JSON array of non-strings', () => {
    expect(refusal('FROM a\nCMD ["a", 1]')).toEqual({
      code: 'invalid-parameter',
      message:
        'Dockerfile parse error line 2: when using JSON array syntax, arrays must be comprised of strings only',
    });
  });
});

describe('parseDockerfile: flags', () => {
  it.each([
    ['FROM --platform=linux/amd64 busybox AS b', 'FROM', { platform: 'linux/amd64' }],
    ['COPY --from=build --chown=1:2 --chmod=644 a /b', 'COPY', { from: 'build', chown: '1:2', chmod: '644' }],
    ['COPY --link a /b', 'COPY', { link: '' }],
    ['COPY --link=FALSE a /b', 'COPY', { link: 'false' }],
    ['COPY --chown="app user" a /b', 'COPY', { chown: 'app user' }],
    ["COPY --chown='1:1' a /b", 'COPY', { chown: '1:1' }],
    ['COPY --from= a /b', 'COPY', { from: '' }],
    ['COPY -- --weird /b', 'COPY', {}],
    ['ADD --checksum=sha256:abc --keep-git-dir=true https://x/y /y', 'ADD', { checksum: 'sha256:abc', 'keep-git-dir': 'true' }],
    ['HEALTHCHECK --interval=5s --timeout=1m30s --start-period=0 --start-interval=2s --retries=3 CMD true', 'HEALTHCHECK', {
      interval: '5s', timeout: '1m30s', 'start-period': '0', 'start-interval': '2s', retries: '3',
    }],
  ])('%s', (text, keyword, flags) => {
    const file = parseDockerfile(keyword === 'FROM' ? text : `FROM a\n${text}`);
    const instruction = keyword === 'FROM' ? file.stages[0]?.from : file.stages[0]?.instructions[0];
    expect(instruction?.keyword).toBe(keyword);
    expect(instruction?.flags).toEqual(flags);
  });

  it('keeps the arguments after the flags, in either form', () => {
    expect(one('COPY --from=b ["x", "/y"]')).toMatchObject({ args: ['x', '/y'], json: true, flags: { from: 'b' } });
    expect(one('COPY -- --weird /b').args).toEqual(['--weird /b']);
  });

  it('booleanFlag reads --link, --link=true and --link=false', () => {
    expect(booleanFlag(one('COPY --link a /b'), 'link')).toBe(true);
    expect(booleanFlag(one('COPY --link=true a /b'), 'link')).toBe(true);
    expect(booleanFlag(one('COPY --link=false a /b'), 'link')).toBe(false);
    expect(booleanFlag(one('COPY a /b'), 'link')).toBe(false);
  });

  it.each([
    ['COPY --frum=x a /b', 'unknown flag: --frum (COPY does not take it)'],
    ['ADD --from=x a /b', 'unknown flag: --from (ADD does not take it)'],
    ['CMD --help', 'unknown flag: --help (CMD does not take it)'],
    ['ENV --x=1 a=b', 'unknown flag: --x (ENV does not take it)'],
    ['COPY --from=a --from=b a /b', 'duplicate flag specified: --from'],
    ['COPY --from a /b', 'missing a value on flag: --from'],
    ['COPY --link=yes a /b', 'expecting boolean value for flag --link, not: yes'],
    ['RUN --mount=type=cache,target=/c make', 'the --mount option of RUN requires BuildKit, which berthd does not provide (it implements the classic builder): remove --mount'],
    ['RUN --network=none make', 'the --network option of RUN requires BuildKit, which berthd does not provide (it implements the classic builder): remove --network'],
    ['COPY --exclude=*.md . /b', 'the --exclude option of COPY requires BuildKit, which berthd does not provide (it implements the classic builder): remove --exclude'],
    ['HEALTHCHECK --interval=5 CMD true', '--interval: invalid duration "5" (write a number with a unit: 30s, 1m30s, 500ms)'],
    ['HEALTHCHECK --timeout=1x CMD true', '--timeout: invalid duration "1x" (write a number with a unit: 30s, 1m30s, 500ms)'],
    ['HEALTHCHECK --start-period=10us CMD true', '--start-period cannot be less than 1ms (got "10us")'],
    ['HEALTHCHECK --interval=-1s CMD true', '--interval cannot be less than 1ms (got "-1s")'],
    ['HEALTHCHECK --retries=-1 CMD true', '--retries cannot be negative (-1)'],
    ['HEALTHCHECK --retries=three CMD true', '--retries must be a whole number, not "three"'],
  ])('refuses %s', (text, message) => {
    expect(refusal(`FROM a\n${text}`)).toEqual({
      code: 'invalid-parameter',
      message: `Dockerfile parse error line 2: ${message}`,
    });
  });

  it('refuses an unknown FROM flag on line 1', () => {
    expect(refusal('FROM --plattform=x a').message).toBe(
      'Dockerfile parse error line 1: unknown flag: --plattform (FROM does not take it)',
    );
  });
});

describe('parseDockerfile: ENV, LABEL and ARG', () => {
  it.each([
    ['ENV a=b', ['a=b']],
    ['ENV a=b c="d e" f=g\\ h', ['a=b', 'c="d e"', 'f=g\\ h']],
    ['ENV myName="John Doe" myDog=Rex\\ The\\ Dog \\\n    myCat=fluffy', ['myName="John Doe"', 'myDog=Rex\\ The\\ Dog', 'myCat=fluffy']],
    ['ENV myName John Doe', ['myName=John Doe']],
    ['ENV myDog Rex The Dog', ['myDog=Rex The Dog']],
    ['ENV a b=c', ['a=b=c']],
    ['ENV a=', ['a=']],
    ['ENV a==b', ['a==b']],
    ["ENV a='$x y'", ["a='$x y'"]],
    ['LABEL "com.example.vendor"="ACME Inc" version=1.0', ['"com.example.vendor"="ACME Inc"', 'version=1.0']],
    ['LABEL description="This text illustrates \\\nthat label-values can span multiple lines."', ['description="This text illustrates that label-values can span multiple lines."']],
    ['LABEL legacy value here', ['legacy=value here']],
    ['ARG user1', ['user1']],
    ['ARG buildno=1 other', ['buildno=1', 'other']],
    ['ARG CONT_IMG_VER="v 1.0.0"', ['CONT_IMG_VER="v 1.0.0"']],
    ['ARG a=', ['a=']],
  ])('%s', (text, args) => {
    expect(one(text).args).toEqual(args);
  });

  it.each([
    ['ENV', 'ENV requires at least one argument'],
    ['ENV onlykey', 'ENV must have two arguments'],
    ['LABEL onlykey', 'LABEL must have two arguments'],
    ['ENV a=b c', `Syntax error - can't find = in "c". Must be of the form: name=value`],
    ['ENV =b', 'ENV names can not be blank'],
    ['LABEL a=b =c', 'LABEL names can not be blank'],
    ['LABEL', 'LABEL requires at least one argument'],
    ['ARG', 'ARG requires at least one argument'],
    ['ARG =x', 'ARG names can not be blank'],
  ])('refuses %j', (text, message) => {
    expect(refusal(`FROM a\n${text}`).message).toBe(`Dockerfile parse error line 2: ${message}`);
  });
});

describe('parseDockerfile: stages and meta args', () => {
  it('splits stages, names them (lower-cased) and keeps ARGs before FROM as meta args', () => {
    const file = parseDockerfile(
      [
        'ARG VERSION=latest',
        'ARG BASE',
        'FROM busybox:$VERSION AS Build',
        'ARG VERSION',
        'RUN echo $VERSION > /v',
        'FROM ${BASE} as final.stage-1',
        'COPY --from=build /v /v',
        'FROM scratch',
      ].join('\n'),
    );
    expect(file.metaArgs.map((arg) => [arg.args, arg.line])).toEqual([
      [['VERSION=latest'], 1],
      [['BASE'], 2],
    ]);
    expect(file.stages.map((stage) => [stage.index, stage.name, stage.from.args[0], stage.from.line])).toEqual([
      [0, 'build', 'busybox:$VERSION', 3],
      [1, 'final.stage-1', '${BASE}', 6],
      [2, undefined, 'scratch', 8],
    ]);
    expect(file.stages[0]?.instructions.map((i) => i.keyword)).toEqual(['ARG', 'RUN']);
    expect(file.stages[1]?.instructions.map((i) => i.keyword)).toEqual(['COPY']);
    expect(file.stages[2]?.instructions).toEqual([]);
    expect(file.stages[2]).not.toHaveProperty('name');
  });

  it.each([
    ['', 'the Dockerfile cannot be empty'],
    ['\n\n  \n', 'the Dockerfile cannot be empty'],
    ['# only\n# comments\n', 'the Dockerfile cannot be empty'],
    ['ARG a=1\n', 'the Dockerfile has no FROM instruction: it contains no stage to build'],
    ['RUN echo\nFROM a', 'Dockerfile parse error line 1: no build stage in current context'],
    ['ARG a\n\nENV b=c\nFROM a', 'Dockerfile parse error line 3: no build stage in current context'],
    ['FROM', 'Dockerfile parse error line 1: FROM requires either one or three arguments'],
    ['FROM a b', 'Dockerfile parse error line 1: FROM requires either one or three arguments'],
    ['FROM a AS', 'Dockerfile parse error line 1: FROM requires either one or three arguments'],
    ['FROM a IS b', 'Dockerfile parse error line 1: FROM requires either one or three arguments'],
    ['FROM a AS 1st', 'Dockerfile parse error line 1: invalid name for build stage: "1st", name can\'t start with a number or contain symbols'],
    ['FROM a AS b$c', 'Dockerfile parse error line 1: invalid name for build stage: "b$c", name can\'t start with a number or contain symbols'],
    ['FROM a AS x\nFROM b AS X', 'Dockerfile parse error line 2: duplicate stage name "x"'],
  ])('refuses %j', (text, message) => {
    expect(refusal(text)).toEqual({ code: 'invalid-parameter', message });
  });
});

describe('parseDockerfile: ONBUILD and HEALTHCHECK', () => {
  it('ONBUILD wraps a parsed trigger', () => {
    const instruction = one('ONBUILD COPY --chown=1 ["a", "/b"]');
    expect(instruction).toMatchObject({ keyword: 'ONBUILD', args: ['COPY --chown=1 ["a", "/b"]'], json: false, flags: {} });
    expect(instruction.inner).toMatchObject({
      keyword: 'COPY',
      line: 2,
      original: 'COPY --chown=1 ["a", "/b"]',
      flags: { chown: '1' },
      args: ['a', '/b'],
      json: true,
    });
    expect(one('onbuild run echo $HOME').inner).toMatchObject({ keyword: 'RUN', args: ['echo $HOME'] });
  });

  it('HEALTHCHECK CMD and NONE', () => {
    const shell = one('HEALTHCHECK --interval=30s CMD curl -f http://localhost/ || exit 1');
    expect(shell).toMatchObject({ keyword: 'HEALTHCHECK', args: ['CMD'], flags: { interval: '30s' } });
    expect(shell.inner).toMatchObject({ keyword: 'CMD', args: ['curl -f http://localhost/ || exit 1'], json: false });
    expect(one('healthcheck cmd ["true"]').inner).toMatchObject({ keyword: 'CMD', args: ['true'], json: true });
    const none = one('HEALTHCHECK none');
    expect(none).toMatchObject({ args: ['NONE'] });
    expect(none.inner).toBeUndefined();
  });

  it.each([
    ['ONBUILD', 'ONBUILD requires at least one argument'],
    ['ONBUILD ONBUILD RUN x', "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    ['ONBUILD from a', "FROM isn't allowed as an ONBUILD trigger"],
    ['ONBUILD MAINTAINER me', "MAINTAINER isn't allowed as an ONBUILD trigger"],
    ['ONBUILD RUNN x', 'unknown instruction: RUNN (did you mean RUN?)'],
    ['ONBUILD COPY a', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['HEALTHCHECK', 'HEALTHCHECK requires at least one argument'],
    ['HEALTHCHECK NONE x', 'HEALTHCHECK NONE takes no arguments'],
    ['HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD'],
    ['HEALTHCHECK CMD []', 'Missing command after HEALTHCHECK CMD'],
    ['HEALTHCHECK curl x', 'Unknown type "CURL" in HEALTHCHECK (try CMD)'],
  ])('refuses %j', (text, message) => {
    expect(refusal(`FROM a\n${text}`).message).toBe(`Dockerfile parse error line 2: ${message}`);
  });
});

describe('parseDockerfile: missing and unknown', () => {
  it.each([
    ['RUNN x', 'unknown instruction: RUNN (did you mean RUN?)'],
    ['copyy a b', 'unknown instruction: copyy (did you mean COPY?)'],
    ['FOOBARBAZ x', 'unknown instruction: FOOBARBAZ'],
    ['RUN', 'RUN requires at least one argument'],
    ['RUN []', 'RUN requires at least one argument'],
    ['CMD', 'CMD requires at least one argument'],
    ['ENTRYPOINT', 'ENTRYPOINT requires at least one argument'],
    ['SHELL', 'SHELL requires at least one argument'],
    ['SHELL []', 'SHELL requires at least one argument'],
    ['SHELL /bin/sh -c', 'SHELL requires the arguments to be in JSON form'],
    ['COPY', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['COPY a', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['COPY "a b"', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['ADD ["a"]', 'ADD requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['VOLUME', 'VOLUME requires at least one argument'],
    ['VOLUME []', 'VOLUME requires at least one argument'],
    ['VOLUME ["/a", " "]', 'VOLUME specified can not be an empty string'],
    ['EXPOSE', 'EXPOSE requires at least one argument'],
    ['USER', 'USER requires exactly one argument'],
    ['WORKDIR   ', 'WORKDIR requires exactly one argument'],
    ['STOPSIGNAL', 'STOPSIGNAL requires exactly one argument'],
    ['MAINTAINER', 'MAINTAINER requires exactly one argument'],
  ])('refuses %j', (text, message) => {
    expect(refusal(`FROM a\n\n${text}`)).toEqual({
      code: 'invalid-parameter',
      message: `Dockerfile parse error line 3: ${message}`,
    });
  });

  it('names the first line of a continued instruction', () => {
    expect(refusal('FROM a\nRUNN a \\\n b').message).toMatch(/^Dockerfile parse error line 2: unknown instruction: RUNN/);
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1.5h', 5400e9],
    ['.5s', 5e8],
    ['300ms', 3e8],
    ['10us', 1e4],
    ['10µs', 1e4],
    ['7ns', 7],
    ['-2s', -2e9],
    ['+1h2m3s', 3723e9],
  ])('%s', (text, nanoseconds) => {
    expect(parseGoDuration(text)).toBe(nanoseconds);
  });

  it.each(['', '5', 's', '1x', '1..2s', '.s', '1s 2s', '--1s'])('refuses %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe('parseDockerfile: hostile input', () => {
  it('reads a directive line full of blanks in linear time', () => {
    const started = Date.now();
    const file = parseDockerfile(`# syntax=a${' '.repeat(200_000)}b \nFROM a`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(file.syntax).toBe(`a${' '.repeat(200_000)}b`);
  });

  it('strips runs of CRs in linear time', () => {
    const started = Date.now();
    expect(one(`RUN a${'\r'.repeat(200_000)}b\r\r`).args).toEqual([`a${'\r'.repeat(200_000)}b`]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses an invalid escape given with blanks around it', () => {
    expect(refusal(`# escape=${' '.repeat(1000)}x${' '.repeat(1000)}\nFROM a`).message).toBe(
      "Dockerfile parse error line 1: invalid escape token 'x' does not match ` or \\",
    );
  });

  it('does not search suggestions for a huge unknown word', () => {
    const started = Date.now();
    expect(refusal(`FROM a\n${'X'.repeat(1_000_000)} y`).message).toMatch(/^Dockerfile parse error line 2: unknown instruction: X+$/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('takes a deeply nested JSON array as a (refused) JSON form, without crashing', () => {
    expect(refusal(`FROM a\nCMD ${'['.repeat(100_000)}${']'.repeat(100_000)}`).message).toBe(
      'Dockerfile parse error line 2: when using JSON array syntax, arrays must be comprised of strings only',
    );
  });
});
