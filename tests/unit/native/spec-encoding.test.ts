import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { decodeHelperMessage } from '../../../runtime-agent/src/native/message-decoding.js';
import type { ExecSpec, ProcessSpec } from '../../../runtime-agent/src/native/protocol.js';
import { decodeSpecRecords, encodeExecSpec, encodeProcessSpec } from '../../../runtime-agent/src/native/spec-encoding.js';
import { ContainerStartError } from '../../../runtime-agent/src/native/start-error.js';

const spec: ProcessSpec = {
  rootfs: { lower: ['/l/top', '/l/base'], upper: '/c/upper', work: '/c/work', target: '/run/c/rootfs', readonly: true },
  hostname: 'box',
  args: ['sh', '-c', 'echo "a b"; printf "x=y\\n"'],
  env: ['PATH=/bin', 'EMPTY=', 'WITH=equals=inside'],
  cwd: '/work dir',
  user: { uid: 1000, gid: 1000, additionalGids: [5, 20] },
  capabilities: [0, 1, 31],
  network: { kind: 'path', path: '/run/netns/x' },
  mounts: [
    { source: '/c/hosts', destination: '/etc/hosts', type: 'bind', options: ['rbind', 'ro'] },
    { source: 'tmpfs', destination: '/run', type: 'tmpfs', options: ['nosuid', 'mode=1777'] },
  ],
  maskedPaths: ['/proc/kcore'],
  readonlyPaths: ['/proc/sys'],
  rlimits: [{ type: 'nofile', soft: 1024, hard: 4096 }, { type: 'core', soft: -1, hard: -1 }],
  noNewPrivileges: true,
  privileged: false,
  openStdin: true,
  oomScoreAdj: -500,
  tty: true,
  consoleSize: { rows: 24, cols: 80 },
  init: true,
  seccomp: 'default',
};

const exec: ExecSpec = {
  containerPid: 4242,
  args: ['sh', '-c', 'id'],
  env: ['PATH=/bin', 'TERM=xterm'],
  cwd: '/srv',
  user: { uid: 1000, gid: 1000, additionalGids: [5] },
  capabilities: [0, 31],
  noNewPrivileges: true,
  openStdin: false,
  tty: false,
  seccomp: 'unconfined',
};

function refusal(s: ProcessSpec): string {
  try {
    encodeProcessSpec(s);
  } catch (err) {
    expect(isBerthError(err, 'invalid-parameter')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected the spec to be refused');
}

describe('encodeProcessSpec', () => {
  it('writes NUL-terminated key=value records, version first and end last', () => {
    const buf = encodeProcessSpec(spec);
    expect(buf.subarray(0, 10).toString()).toBe('version=1\0');
    expect(buf.subarray(-4).toString()).toBe('end\0');
    expect(decodeSpecRecords(buf)).toEqual([
      ['version', '1'],
      ['lower', '/l/top'],
      ['lower', '/l/base'],
      ['upper', '/c/upper'],
      ['work', '/c/work'],
      ['target', '/run/c/rootfs'],
      ['rootfs-readonly', '1'],
      ['hostname', 'box'],
      ['arg', 'sh'],
      ['arg', '-c'],
      ['arg', 'echo "a b"; printf "x=y\\n"'],
      ['env', 'PATH=/bin'],
      ['env', 'EMPTY='],
      ['env', 'WITH=equals=inside'],
      ['cwd', '/work dir'],
      ['uid', '1000'],
      ['gid', '1000'],
      ['additional-gid', '5'],
      ['additional-gid', '20'],
      ['cap', '0'],
      ['cap', '1'],
      ['cap', '31'],
      ['net', '/run/netns/x'],
      ['mount', '/c/hosts\t/etc/hosts\tbind\trbind,ro'],
      ['mount', 'tmpfs\t/run\ttmpfs\tnosuid,mode=1777'],
      ['mask', '/proc/kcore'],
      ['readonly', '/proc/sys'],
      ['rlimit', 'nofile:1024:4096'],
      ['rlimit', 'core:unlimited:unlimited'],
      ['no-new-privileges', '1'],
      ['privileged', '0'],
      ['open-stdin', '1'],
      ['oom-score-adj', '-500'],
      ['tty', '1'],
      ['console-rows', '24'],
      ['console-cols', '80'],
      ['init', '1'],
      ['seccomp', 'default'],
    ]);
  });

  it('sends a console size only with a tty, and none when not given', () => {
    const keys = (s: ProcessSpec) => decodeSpecRecords(encodeProcessSpec(s)).map(([k]) => k);
    expect(keys({ ...spec, tty: false })).not.toContain('console-rows');
    expect(decodeSpecRecords(encodeProcessSpec({ ...spec, tty: false, init: false, seccomp: 'unconfined' })).slice(-3)).toEqual([
      ['tty', '0'],
      ['init', '0'],
      ['seccomp', 'unconfined'],
    ]);
    const { consoleSize: _omitted, ...withoutSize } = spec;
    expect(keys(withoutSize)).not.toContain('console-cols');
    expect(decodeSpecRecords(encodeProcessSpec({ ...spec, consoleSize: { rows: 0, cols: 0 } }))).toContainEqual(['console-rows', '0']);
  });

  it('refuses a console size out of range', () => {
    expect(refusal({ ...spec, consoleSize: { rows: 65536, cols: 80 } })).toMatch(/consoleSize.rows must be an integer from 0 to 65535/);
    expect(refusal({ ...spec, consoleSize: { rows: 24, cols: -1 } })).toMatch(/consoleSize.cols/);
    expect(refusal({ ...spec, consoleSize: { rows: 24.5, cols: 80 } })).toMatch(/consoleSize.rows/);
  });

  it('encodes the network kinds and keeps newlines and UTF-8 intact', () => {
    const records = (s: ProcessSpec) => decodeSpecRecords(encodeProcessSpec(s));
    expect(records({ ...spec, network: { kind: 'new' } })).toContainEqual(['net', 'new']);
    expect(records({ ...spec, network: { kind: 'host' } })).toContainEqual(['net', 'host']);
    expect(records({ ...spec, env: ['MULTI=line1\nline2', 'UNI=héllo ✓'] })).toEqual(
      expect.arrayContaining([['env', 'MULTI=line1\nline2'], ['env', 'UNI=héllo ✓']]),
    );
  });

  it('sends the interfaces the init configures right after net, only into a new namespace', () => {
    const records = decodeSpecRecords(encodeProcessSpec({
      ...spec, network: { kind: 'new' },
      interfaces: [{ name: 'eth0', address: '172.17.0.2', prefixLength: 16, gateway: '172.17.0.1' }, { name: 'eth1', address: '10.0.0.5', prefixLength: 24 }],
    }));
    const net = records.findIndex(([k]) => k === 'net');
    expect(records.slice(net, net + 3)).toEqual([['net', 'new'], ['iface', 'eth0\t172.17.0.2\t16\t172.17.0.1'], ['iface', 'eth1\t10.0.0.5\t24']]);
    expect(decodeSpecRecords(encodeProcessSpec({ ...spec, network: { kind: 'new' } })).some(([k]) => k === 'iface')).toBe(false);
    const iface = { name: 'eth0', address: '172.17.0.2', prefixLength: 16 };
    expect(refusal({ ...spec, interfaces: [iface] })).toMatch(/interfaces need a new network namespace/);
    const fresh = { ...spec, network: { kind: 'new' } } as const;
    expect(refusal({ ...fresh, interfaces: [{ ...iface, name: 'eth\t0' }] })).toMatch(/interfaces\[0\]\.name/);
    expect(refusal({ ...fresh, interfaces: [{ ...iface, address: '172.17.0.256' }] })).toMatch(/interfaces\[0\]\.address/);
    expect(refusal({ ...fresh, interfaces: [{ ...iface, prefixLength: 33 }] })).toMatch(/interfaces\[0\]\.prefixLength/);
    expect(refusal({ ...fresh, interfaces: [{ ...iface, gateway: 'gw' }] })).toMatch(/interfaces\[0\]\.gateway/);
  });

  it('refuses NUL bytes in any string', () => {
    expect(refusal({ ...spec, env: ['A=1', 'B=\0x'] })).toMatch(/env\[1\] contains a NUL byte/);
    expect(refusal({ ...spec, args: ['sh\0'] })).toMatch(/args\[0\] contains a NUL byte/);
    expect(refusal({ ...spec, hostname: 'a\0b' })).toMatch(/hostname contains a NUL byte/);
    expect(refusal({ ...spec, maskedPaths: ['/proc/\0'] })).toMatch(/maskedPaths\[0\]/);
  });

  it('refuses tabs and commas that would break mount fields', () => {
    const tab = { source: '/a\tb', destination: '/x', type: 'bind', options: [] };
    expect(refusal({ ...spec, mounts: [tab] })).toMatch(/mounts\[0\] holds a tab in source/);
    const tabDest = { source: '/a', destination: '/x\ty', type: 'bind', options: [] };
    expect(refusal({ ...spec, mounts: [tabDest] })).toMatch(/holds a tab in destination/);
    const comma = { source: 'tmpfs', destination: '/x', type: 'tmpfs', options: ['mode=1,2'] };
    expect(refusal({ ...spec, mounts: [comma] })).toMatch(/comma inside an option/);
    const relative = { source: 'tmpfs', destination: 'x', type: 'tmpfs', options: [] };
    expect(refusal({ ...spec, mounts: [relative] })).toMatch(/must be an absolute path/);
  });

  it('refuses layer paths overlay cannot parse, and relative paths', () => {
    const rootfs = spec.rootfs;
    expect(refusal({ ...spec, rootfs: { ...rootfs, lower: ['/a:b'] } })).toMatch(/rootfs.lower\[0\]/);
    expect(refusal({ ...spec, rootfs: { ...rootfs, upper: '/a,b' } })).toMatch(/rootfs.upper/);
    expect(refusal({ ...spec, rootfs: { ...rootfs, lower: [] } })).toMatch(/rootfs.lower is empty/);
    expect(refusal({ ...spec, rootfs: { ...rootfs, target: 'rel' } })).toMatch(/rootfs.target must be an absolute path/);
    expect(refusal({ ...spec, cwd: 'tmp' })).toMatch(/cwd must be an absolute path/);
    expect(refusal({ ...spec, network: { kind: 'path', path: 'netns' } })).toMatch(/network.path/);
  });

  it('refuses an empty command and out-of-range numbers', () => {
    expect(refusal({ ...spec, args: [] })).toMatch(/args is empty/);
    expect(refusal({ ...spec, capabilities: [64] })).toMatch(/capabilities\[0\] must be an integer from 0 to 63/);
    expect(refusal({ ...spec, user: { uid: -1, gid: 0, additionalGids: [] } })).toMatch(/user.uid/);
    expect(refusal({ ...spec, user: { uid: 0, gid: 0.5, additionalGids: [] } })).toMatch(/user.gid/);
    expect(refusal({ ...spec, oomScoreAdj: 1001 })).toMatch(/oomScoreAdj/);
    expect(refusal({ ...spec, rlimits: [{ type: 'files', soft: 1, hard: 1 }] })).toMatch(/rlimits\[0\].type/);
    expect(refusal({ ...spec, rlimits: [{ type: 'nofile', soft: 10, hard: 5 }] })).toMatch(/soft limit above/);
    expect(refusal({ ...spec, rlimits: [{ type: 'nofile', soft: -1, hard: 5 }] })).toMatch(/soft limit above/);
  });
});

describe('encodeExecSpec', () => {
  it('writes the exec record set: the container PID, the command and its identity, the terminal', () => {
    expect(decodeSpecRecords(encodeExecSpec(exec))).toEqual([
      ['version', '1'],
      ['container-pid', '4242'],
      ['arg', 'sh'],
      ['arg', '-c'],
      ['arg', 'id'],
      ['env', 'PATH=/bin'],
      ['env', 'TERM=xterm'],
      ['cwd', '/srv'],
      ['uid', '1000'],
      ['gid', '1000'],
      ['additional-gid', '5'],
      ['cap', '0'],
      ['cap', '31'],
      ['no-new-privileges', '1'],
      ['open-stdin', '0'],
      ['tty', '0'],
      ['seccomp', 'unconfined'],
    ]);
    expect(decodeSpecRecords(encodeExecSpec({ ...exec, tty: true, consoleSize: { rows: 50, cols: 132 } })).slice(-4)).toEqual([
      ['tty', '1'],
      ['console-rows', '50'],
      ['console-cols', '132'],
      ['seccomp', 'unconfined'],
    ]);
  });

  it('refuses what the helper could not carry', () => {
    const refused = (s: ExecSpec): string => {
      try {
        encodeExecSpec(s);
      } catch (err) {
        expect(isBerthError(err, 'invalid-parameter')).toBe(true);
        return (err as Error).message;
      }
      throw new Error('expected the exec spec to be refused');
    };
    expect(refused({ ...exec, containerPid: 0 })).toMatch(/containerPid must be an integer from 1/);
    expect(refused({ ...exec, containerPid: 1.5 })).toMatch(/containerPid/);
    expect(refused({ ...exec, args: [] })).toMatch(/args is empty/);
    expect(refused({ ...exec, cwd: 'relative' })).toMatch(/cwd must be an absolute path/);
    expect(refused({ ...exec, env: ['A=\0'] })).toMatch(/env\[0\] contains a NUL byte/);
    expect(refused({ ...exec, tty: true, consoleSize: { rows: 1, cols: 70000 } })).toMatch(/consoleSize.cols/);
    expect(refused({ ...exec, seccomp: 'custom' as 'default' })).toMatch(/seccomp is not default or unconfined/);
  });
});

describe('decodeSpecRecords', () => {
  it('refuses input without the final end record', () => {
    expect(() => decodeSpecRecords(Buffer.from('version=1\0'))).toThrow(/end/);
    expect(() => decodeSpecRecords(Buffer.from('novalue\0end\0'))).toThrow(/expected key=value/);
  });
});

describe('decodeHelperMessage', () => {
  it('decodes the messages of run and exec', () => {
    expect(decodeHelperMessage('pid 4242')).toEqual({ type: 'pid', pid: 4242 });
    expect(decodeHelperMessage('started')).toEqual({ type: 'started' });
    expect(decodeHelperMessage('error exec 2 exec: "foo": executable file not found in $PATH')).toEqual({
      type: 'error',
      stage: 'exec',
      errno: 2,
      message: 'exec: "foo": executable file not found in $PATH',
    });
    expect(decodeHelperMessage('error mount-proc 1 ')).toEqual({ type: 'error', stage: 'mount-proc', errno: 1, message: '' });
    expect(decodeHelperMessage('exit 3 0')).toEqual({ type: 'exit', code: 3, signal: 0 });
    expect(decodeHelperMessage('exit 137 9')).toEqual({ type: 'exit', code: 137, signal: 9 });
  });

  it('is strict about everything else', () => {
    for (const line of ['', 'pid', 'pid 0', 'pid -1', 'pid 12x', 'started ', 'Started', 'error exec', 'error Exec 2 x', 'exit 1', 'exit a b', 'go']) {
      expect(() => decodeHelperMessage(line), line).toThrow(`expected pid|started|ready|error|exit, received ${JSON.stringify(line)}`);
    }
  });
});

describe('ContainerStartError', () => {
  it('blames the user for what their command caused, the system for the rest', () => {
    const notFound = new ContainerStartError('exec', 2, 'exec: "foo": executable file not found in $PATH');
    expect(notFound).toMatchObject({ code: 'invalid-parameter', stage: 'exec', errno: 'ENOENT', exitCode: 127 });
    expect(notFound.message).toBe('exec: "foo": executable file not found in $PATH');
    expect(new ContainerStartError('exec', 13, 'exec: "/etc/passwd": permission denied')).toMatchObject({
      code: 'invalid-parameter',
      errno: 'EACCES',
      exitCode: 126,
    });
    expect(new ContainerStartError('chdir', 20, 'chdir ...: not a directory')).toMatchObject({ code: 'invalid-parameter' });
    expect(new ContainerStartError('mount-proc', 1, 'mount proc on /proc: operation not permitted')).toMatchObject({
      code: 'system',
      errno: 'EPERM',
      exitCode: 128,
    });
    expect(new ContainerStartError('init', 0, 'died')).toMatchObject({ code: 'system', errno: undefined });
  });
});
