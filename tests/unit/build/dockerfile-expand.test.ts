import { describe, expect, it } from 'vitest';
import {
  EXPANDING_KEYWORDS,
  expandKeyValues,
  expandWord,
  expandWords,
  parseArg,
} from '../../../runtime-agent/src/build/dockerfile/expand.js';
import { parseDockerfile } from '../../../runtime-agent/src/build/dockerfile/parse.js';

const env = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['EMPTY', ''],
  ['KOREAN', '한국어'],
  ['SPACED', '  ab  c '],
  ['FILE', 'xxyy'],
]);

/** What expanding `word` throws: code and message. */
function failure(fn: () => unknown): { code: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  }
  throw new Error('expected expansion to fail');
}

describe('expandWord', () => {
  it.each([
    // plain text, quotes and escapes
    ['hello', 'hello'],
    ["he'll'o", 'hello'],
    ["he\\'llo", "he'llo"],
    ['abc\\tdef', 'abctdef'],
    ['"abc\\tdef"', 'abc\\tdef'],
    ['"abc\\\\tdef"', 'abc\\tdef'],
    ["'abc\\tdef'", 'abc\\tdef'],
    ['hello\\', 'hello'],
    ['hello\\\\', 'hello\\'],
    ['"hel\'lo"', "hel'lo"],
    ["'hello\\'", 'hello\\'],
    ['"\'\'"', "''"],
    ["'\"hello\"'", '"hello"'],
    ['a b  c', 'a b  c'],
    ['안\'녕\'하세요', '안녕하세요'],
    // $NAME and ${NAME}
    ['he$PWD', 'he/home'],
    ['he${PWD}xx', 'he/homexx'],
    ['$KOREAN!', '한국어!'],
    ['he$pwd.', 'he.'],
    ['he$UNSET.', 'he.'],
    ['he${hi}xx', 'hexx'],
    ['$', '$'],
    ['$.', '$.'],
    ['he$.x', 'he$.x'],
    ['a $ b', 'a $ b'],
    ['he$1x', 'hex'],
    ['$999aaa', 'aaa'],
    ['$@aaa', 'aaa'],
    ['$$', ''],
    ['$@@@', '@@'],
    ['${aaa}}', '}'],
    // escaped dollars and quotes
    ['he\\$PWD', 'he$PWD'],
    ['he\\\\$PWD', 'he\\/home'],
    ['"he\\$PWD"', 'he$PWD'],
    ['"he\\\\$PWD"', 'he\\/home'],
    ["'he\\$PWD'", 'he\\$PWD'],
    ["'he${XX}'", 'he${XX}'],
    ['"he${PWD}"', 'he/home'],
    ['"he\'$PWD\'"', "he'/home'"],
    ["'$PWD'", '$PWD'],
    ['\\${}', '${}'],
    ['he\\${}xx', 'he${}xx'],
    ['"a\\"b"', 'a"b'],
    ['"a\\xb"', 'a\\xb'],
    // ${NAME:-word} ${NAME-word}
    ['he${XXX:-000}xx', 'he000xx'],
    ['he${PWD:-000}xx', 'he/homexx'],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${EMPTY-dflt}', ''],
    ['${XXX-dflt}', 'dflt'],
    ['he${XXX:-$PWD}xx', 'he/homexx'],
    ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
    ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
    ['${XXX:-"a b"}', 'a b'],
    ["${XXX:-'\\$x'}", '\\$x'],
    ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
    ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
    ['${aaa:-bbb}}', 'bbb}'],
    ['${aaa:-bbb {foo}', 'bbb {foo'],
    ['${1:-bbb}', 'bbb'],
    // ${NAME:+word} ${NAME+word}
    ['he${XXX:+000}xx', 'hexx'],
    ['he${PWD:+000}xx', 'he000xx'],
    ['he${PWD:+${SHELL}}xx', 'hebashxx'],
    ['he${PWD:+${PWD}:}xx', 'he/home:xx'],
    ['${EMPTY:+set}', ''],
    ['${EMPTY+set}', 'set'],
    ['${XXX+set}', ''],
    // ${NAME?} when set
    ['he${PWD?}', 'he/home'],
    ['he${PWD:?}', 'he/home'],
    ['he${EMPTY?}', 'he'],
    // prefix / suffix / replacement
    ['${FILE#*x*y}', 'y'],
    ['${FILE#*}', 'xxyy'],
    ['${FILE#x}', 'xyy'],
    ['${FILE##*x}', 'yy'],
    ['${FILE#}', 'xxyy'],
    ['${FILE%y}', 'xxy'],
    ['${FILE%%y*}', 'xx'],
    ['${FILE%x}', 'xxyy'],
    ['${FILE%y*}', 'xxy'],
    ['${FILE%%x*}', ''],
    ['${FILE#$SHELL}', 'xxyy'],
    ['${UNSET#x}', ''],
    ['${FILE/x/z}', 'zxyy'],
    ['${FILE//x/z}', 'zzyy'],
    ['${FILE//?/-}', '----'],
    ['${FILE/y*/$SHELL}', 'xxbash'],
    ['${FILE/q/z}', 'xxyy'],
  ])('%s -> %j', (word, expected) => {
    expect(expandWord(word, env, '\\')).toBe(expected);
  });

  it.each([
    ['${FOO#?\\?}', '???y', '?y'],
    ['${FOO%%\\**}', 'xx**', 'xx'],
    ['${FOO%%\\**\\*}', 'a***yy*', 'a'],
    ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', '()[]{}^$.*?|\\x', 'x'],
    ['${FOO//a.b/$}', 'a.b axb a.b', '$ axb $'],
    ['${FOO//\\//-}', 'a/b/c', 'a-b-c'],
  ])('pattern %s on %j -> %j', (word, value, expected) => {
    expect(expandWord(word, new Map([['FOO', value]]), '\\')).toBe(expected);
  });

  it('is case-sensitive about names', () => {
    expect(expandWord('$Pwd$PWD', env, '\\')).toBe('/home');
  });

  it('backtick escape: backslashes are ordinary, ` escapes', () => {
    expect(expandWord('c:\\dir\\$PWD', env, '`')).toBe('c:\\dir\\/home');
    expect(expandWord('`$PWD a`` b', env, '`')).toBe('$PWD a` b');
    expect(expandWord('"`"x`$y"', env, '`')).toBe('"x$y');
  });

  it.each([
    ["he'llo", 'unexpected end of statement while looking for matching single-quote'],
    ["he\\\\'llo", 'unexpected end of statement while looking for matching single-quote'],
    ['"hello', 'unexpected end of statement while looking for matching double-quote'],
    ['"hello\\"', 'unexpected end of statement while looking for matching double-quote'],
    ['${}', 'syntax error: bad substitution'],
    ['he${}xx', 'syntax error: bad substitution'],
    ['${:}', 'syntax error: bad substitution'],
    ['${{aaa}', 'syntax error: bad substitution'],
    ['${', "syntax error: missing '}'"],
    ['he${PWD', "syntax error: missing '}'"],
    ['${aaa:-bbb', "syntax error: missing '}'"],
    ['${aaa:-bbb ${foo}', "syntax error: missing '}'"],
    ['${aaa:-"x}', "syntax error: missing '}'"],
    ['he${.}', 'unsupported modifier (.) in substitution'],
    ['he${XXX:YYY}', 'unsupported modifier (:Y) in substitution'],
    ['he${PWD:=000}xx', 'unsupported modifier (:=) in substitution'],
    ['${FOO=aaa}', 'unsupported modifier (=) in substitution'],
    ['${FILE:#x}', 'unsupported modifier (:#) in substitution'],
    ['${FILE:%%x}', 'unsupported modifier (:%) in substitution'],
    ['${FILE/x}', "syntax error: missing '/' in ${}"],
    ['${FILE#\\x}', 'invalid pattern (\\x) in substitution: invalid escape \'\\x\''],
    ['he${XXX?}', 'XXX: is not allowed to be unset'],
    ['he${XXX:?}', 'XXX: is not allowed to be unset'],
    ['${EMPTY:?}', 'EMPTY: is not allowed to be empty'],
    ['${EMPTY:?set it with --build-arg}', 'EMPTY: set it with --build-arg'],
    ['${XXX?XXX is required}', 'XXX: XXX is required'],
  ])('refuses %s', (word, message) => {
    expect(failure(() => expandWord(word, env, '\\'))).toEqual({
      code: 'invalid-parameter',
      message: `failed to process ${JSON.stringify(word)}: ${message}`,
    });
  });
});

describe('expandWords', () => {
  const wordsEnv = new Map([
    ['hi', 'hi'],
    ['space', 'abc  def'],
    ['leading', '  ab c'],
    ['trailing', 'ab c   '],
  ]);

  it.each([
    ['hello', ['hello']],
    ['hello${hi}bye', ['hellohibye']],
    ['hello${nope}bye', ['hellobye']],
    ['hello${space}bye', ['helloabc', 'defbye']],
    ['hello"${space}"bye', ['helloabc  defbye']],
    ['hello "${space}"bye', ['hello', 'abc  defbye']],
    ['hello${leading}def', ['hello', 'ab', 'cdef']],
    ['hello"${leading}" def', ['hello  ab c', 'def']],
    ['hello${trailing}d', ['helloab', 'c', 'd']],
    ['hel"lo${trailing}"', ['helloab c   ']],
    ['hello" there  "', ['hello there  ']],
    ['  hello    there  ', ['hello', 'there']],
    ['hello\\ there', ['hello there']],
    ['hello\\" there', ['hello"', 'there']],
    ['hello"\\\\there"', ['hello\\there']],
    ["hello'\\\\there'", ['hello\\\\there']],
    ["hello'$there'", ['hello$there']],
    ['a "" b', ['a', 'b']],
    ['', []],
    ['80/tcp ${PORT:-443} "8080"', ['80/tcp', '443', '8080']],
    ['"my file.txt" ./other /dest dir/', ['my file.txt', './other', '/dest', 'dir/']],
    ['a\tb\nc', ['a', 'b', 'c']],
  ])('%j -> %j', (text, words) => {
    expect(expandWords(text, wordsEnv, '\\')).toEqual(words);
  });

  it('refuses an unclosed quote', () => {
    expect(failure(() => expandWords('hello" there', wordsEnv, '\\')).message).toBe(
      'failed to process "hello\\" there": unexpected end of statement while looking for matching double-quote',
    );
  });
});

describe('expandKeyValues (ENV, LABEL)', () => {
  it('expands the parsed pairs of the reference examples', () => {
    const file = parseDockerfile(
      [
        'FROM a',
        'ENV MY_NAME="John Doe" MY_DOG=Rex\\ The\\ Dog \\',
        '    MY_CAT=fluffy',
        'ENV MY_VAR my-value with spaces',
        'LABEL "com.example.vendor"="ACME Incorporated" version="1.0" description="This text illustrates \\',
        'that label-values can span multiple lines."',
        'ENV abc=bye def=$abc ghi="${abc:-x}" jkl=\'$abc\'',
        'ENV empty= quoted=""',
      ].join('\n'),
    );
    const [myName, myVar, labels, abc, empty] = file.stages[0]?.instructions ?? [];
    const at = new Map([['abc', 'hello']]);
    expect(expandKeyValues(myName?.args ?? [], at, file.escape)).toEqual([
      ['MY_NAME', 'John Doe'],
      ['MY_DOG', 'Rex The Dog'],
      ['MY_CAT', 'fluffy'],
    ]);
    expect(expandKeyValues(myVar?.args ?? [], at, file.escape)).toEqual([['MY_VAR', 'my-value with spaces']]);
    expect(expandKeyValues(labels?.args ?? [], at, file.escape)).toEqual([
      ['com.example.vendor', 'ACME Incorporated'],
      ['version', '1.0'],
      ['description', 'This text illustrates that label-values can span multiple lines.'],
    ]);
    // every pair of one instruction sees the values from before it
    expect(expandKeyValues(abc?.args ?? [], at, file.escape)).toEqual([
      ['abc', 'bye'],
      ['def', 'hello'],
      ['ghi', 'hello'],
      ['jkl', '$abc'],
    ]);
    expect(expandKeyValues(empty?.args ?? [], at, file.escape)).toEqual([
      ['empty', ''],
      ['quoted', ''],
    ]);
  });

  it('expands names too, and keeps = after the first', () => {
    expect(expandKeyValues(['${P}_NAME=a=b', 'x=${P:+c=d}'], new Map([['P', 'MY']]), '\\')).toEqual([
      ['MY_NAME', 'a=b'],
      ['x', 'c=d'],
    ]);
  });

  it('the legacy form keeps its quotes for expansion', () => {
    const file = parseDockerfile('FROM a\nENV GREETING "hello world" $X');
    expect(expandKeyValues(file.stages[0]?.instructions[0]?.args ?? [], new Map([['X', '!']]), '\\')).toEqual([
      ['GREETING', 'hello world !'],
    ]);
  });

  it('refuses a name that expands to nothing, and malformed values', () => {
    expect(failure(() => expandKeyValues(['$NOPE=x'], env, '\\'))).toEqual({
      code: 'invalid-parameter',
      message: '"$NOPE=x": the name must not be empty',
    });
    expect(failure(() => expandKeyValues(['a="x'], env, '\\')).message).toBe(
      'failed to process "\\"x": unexpected end of statement while looking for matching double-quote',
    );
  });

  it('backtick escape with Windows paths', () => {
    const file = parseDockerfile('# escape=`\nFROM a\nENV DIR=C:\\temp\\ `\n  X="a`"b"');
    expect(expandKeyValues(file.stages[0]?.instructions[0]?.args ?? [], env, file.escape)).toEqual([
      ['DIR', 'C:\\temp\\'],
      ['X', 'a"b'],
    ]);
  });
});

describe('parseArg', () => {
  it.each([
    ['user1', { name: 'user1' }],
    ['buildno=1', { name: 'buildno', value: '1' }],
    ['CONT_IMG_VER="v 1.0.0"', { name: 'CONT_IMG_VER', value: 'v 1.0.0' }],
    ['empty=', { name: 'empty', value: '' }],
    ['v=${PWD}/x', { name: 'v', value: '/home/x' }],
    ['v=${UNSET:-dflt}', { name: 'v', value: 'dflt' }],
    ["v='$PWD'", { name: 'v', value: '$PWD' }],
    ['a=b=c', { name: 'a', value: 'b=c' }],
  ])('%s', (arg, expected) => {
    expect(parseArg(arg, env, '\\')).toEqual(expected);
  });

  it('without a default the value is absent, not empty', () => {
    expect(parseArg('NAME', env, '\\')).not.toHaveProperty('value');
  });

  it('refuses a name that expands to nothing', () => {
    expect(failure(() => parseArg('$NOPE=1', env, '\\')).message).toBe('ARG "$NOPE=1": the name must not be empty');
  });
});

describe('EXPANDING_KEYWORDS', () => {
  it("is Docker's list plus ARG", () => {
    expect([...EXPANDING_KEYWORDS].sort()).toEqual(
      ['ADD', 'ARG', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'],
    );
    for (const keyword of ['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'HEALTHCHECK', 'MAINTAINER', 'ONBUILD'] as const) {
      expect(EXPANDING_KEYWORDS.has(keyword)).toBe(false);
    }
  });
});

describe('hostile input', () => {
  it('refuses substitutions nested too deeply instead of exhausting the stack', () => {
    const deep = `${'${A:-'.repeat(5000)}x${'}'.repeat(5000)}`;
    expect(failure(() => expandWord(deep, env, '\\')).message).toMatch(
      /: substitutions nested deeper than 100 levels$/,
    );
    const fine = `${'${A:-'.repeat(50)}x${'}'.repeat(50)}`;
    expect(expandWord(fine, env, '\\')).toBe('x');
  });

  it('expands a long word in linear time', () => {
    const long = `${'a$PWD "b c" '.repeat(20000)}`;
    const started = Date.now();
    expect(expandWords(long, env, '\\')).toHaveLength(40000);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
