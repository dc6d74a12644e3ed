import { describe, expect, it } from 'vitest';
import { parseRunRequest, toCreateOptions } from '../../../electron/main/services/run-request.js';

describe('run request (the main-process gate for the Run dialog)', () => {
  it('turns a full request into Docker create options', () => {
    const run = parseRunRequest(
      {
        image: 'berth.test/busybox:latest',
        name: 'web',
        command: ['sh', '-c', 'echo hi'],
        env: [{ name: 'A', value: 'x=y' }],
        ports: [{ containerPort: 80, protocol: 'tcp', hostPort: 8080, hostIp: '127.0.0.1' }, { containerPort: 53, protocol: 'udp' }],
        mounts: [{ kind: 'volume', source: 'data', target: '/data', readOnly: true }, { kind: 'bind', source: '/srv', target: '/srv' }],
        restartPolicy: 'unless-stopped',
        memoryBytes: 64 * 1024 * 1024,
        cpus: 0.5,
      },
      2,
    );
    const opts = toCreateOptions(run);
    expect(opts.Image).toBe('berth.test/busybox:latest');
    expect(opts.name).toBe('web');
    expect(opts.Cmd).toEqual(['sh', '-c', 'echo hi']);
    expect(opts.Env).toEqual(['A=x=y']);
    expect(opts.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    expect(opts.HostConfig?.PortBindings).toEqual({ '80/tcp': [{ HostPort: '8080', HostIp: '127.0.0.1' }], '53/udp': [{ HostPort: '' }] });
    expect(opts.HostConfig?.Mounts).toEqual([
      { Type: 'volume', Source: 'data', Target: '/data', ReadOnly: true },
      { Type: 'bind', Source: '/srv', Target: '/srv', ReadOnly: false },
    ]);
    expect(opts.HostConfig?.RestartPolicy).toEqual({ Name: 'unless-stopped' });
    expect(opts.HostConfig?.Memory).toBe(64 * 1024 * 1024);
    expect(opts.HostConfig?.NanoCpus).toBe(500_000_000);
  });

  it.each([
    [{}, /image is required/],
    [{ image: 'a b' }, /must not contain spaces/],
    [{ image: 'x', name: '-bad' }, /name "-bad"/],
    [{ image: 'x', env: [{ name: 'A=B', value: '' }] }, /env name "A=B"/],
    [{ image: 'x', ports: [{ containerPort: 0 }] }, /container port must be between 1 and 65535/],
    [{ image: 'x', ports: [{ containerPort: 80, hostPort: 70000 }] }, /host port/],
    [{ image: 'x', ports: [{ containerPort: 80, hostIp: 'localhost' }] }, /not an IP address/],
    [{ image: 'x', mounts: [{ kind: 'bind', source: 'rel', target: '/a' }] }, /host path "rel" must be absolute/],
    [{ image: 'x', mounts: [{ kind: 'volume', source: 'v', target: 'a' }] }, /container path "a" must be absolute/],
    [{ image: 'x', mounts: [{ kind: 'volume', source: 'v', target: '/a' }, { kind: 'volume', source: 'w', target: '/a' }] }, /two volumes are mounted at \/a/],
    [{ image: 'x', memoryBytes: 1024 }, /memory limit must be between/],
    [{ image: 'x', cpus: 3 }, /at most 2/],
    [{ image: 'x', restartPolicy: 'sometimes' }, /restart policy must be one of/],
    [{ image: 'x', autoRemove: true, restartPolicy: 'always' }, /cannot have a restart policy/],
  ])('refuses %j', (request, message) => {
    expect(() => parseRunRequest(request, 2)).toThrow(message);
  });
});
