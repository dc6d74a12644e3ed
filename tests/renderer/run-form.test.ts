import { describe, expect, it } from 'vitest';
import { emptyRunForm, parseCommand, parseEnv, parseMemory, parsePort, parseVolume, validateRunForm, type RunForm } from '../../renderer/src/components/containers/run-form.js';

const form = (change: Partial<RunForm>): RunForm => ({ ...emptyRunForm(), image: 'nginx:latest', ...change });

describe('run form parsing', () => {
  it('parses port specs with host address, host port and protocol', () => {
    expect(parsePort('8080:80/tcp')).toEqual({ value: { containerPort: 80, protocol: 'tcp', hostPort: 8080 } });
    expect(parsePort('80')).toEqual({ value: { containerPort: 80, protocol: 'tcp' } });
    expect(parsePort(':53/udp')).toEqual({ value: { containerPort: 53, protocol: 'udp' } });
    expect(parsePort('127.0.0.1:5432:5432')).toEqual({ value: { containerPort: 5432, protocol: 'tcp', hostPort: 5432, hostIp: '127.0.0.1' } });
    expect(parsePort('8080:http')).toEqual({ error: 'port "8080:http": container port "http" is not a number' });
    expect(parsePort('70000:80')).toEqual({ error: 'port "70000:80": host port 70000 must be between 0 and 65535' });
    expect(parsePort('80/sctp')).toEqual({ error: 'port "80/sctp": the protocol must be tcp or udp' });
    expect(parsePort('999.1.1.1:80:80')).toEqual({ error: 'port "999.1.1.1:80:80": "999.1.1.1" is not an IPv4 address' });
  });

  it('parses volumes and binds, with :ro', () => {
    expect(parseVolume('data:/var/lib/data')).toEqual({ value: { kind: 'volume', source: 'data', target: '/var/lib/data', readOnly: false } });
    expect(parseVolume('data:/srv:ro')).toEqual({ value: { kind: 'volume', source: 'data', target: '/srv', readOnly: true } });
    expect(parseVolume('/home/me/site:/usr/share/nginx/html')).toEqual({ value: { kind: 'bind', source: '/home/me/site', target: '/usr/share/nginx/html', readOnly: false } });
    expect(parseVolume('data:relative')).toEqual({ error: 'volume "data:relative": the container path must start with /' });
    expect(parseVolume('data:/x:rx')).toEqual({ error: 'volume "data:/x:rx": the mode must be ro or rw' });
    expect(parseVolume('/only-one-part')).toMatchObject({ error: expect.stringMatching(/write it as name:\/path/) as string });
    expect(parseVolume('bad name:/x')).toMatchObject({ error: expect.stringMatching(/letters, digits/) as string });
  });

  it('parses KEY=VALUE lines, keeping = and spaces in values', () => {
    expect(parseEnv('A=1\n\n# comment\nB=x=y z\r\nEMPTY=')).toEqual({ value: [{ name: 'A', value: '1' }, { name: 'B', value: 'x=y z' }, { name: 'EMPTY', value: '' }] });
    expect(parseEnv('A=1\nLONELY')).toEqual({ error: 'line 2: "LONELY" needs a value: write LONELY=VALUE' });
    expect(parseEnv('MY VAR=1')).toMatchObject({ error: expect.stringMatching(/line 1: "MY VAR" is not a variable name/) as string });
  });

  it('parses memory sizes and refuses tiny or unreadable ones', () => {
    expect(parseMemory('512m')).toEqual({ value: 512 * 1024 * 1024 });
    expect(parseMemory('1g')).toEqual({ value: 1024 ** 3 });
    expect(parseMemory('1.5GB')).toEqual({ value: 1.5 * 1024 ** 3 });
    expect(parseMemory('256MiB')).toEqual({ value: 256 * 1024 * 1024 });
    expect(parseMemory('10000000')).toEqual({ value: 10_000_000 });
    expect(parseMemory('1k')).toEqual({ error: 'the memory limit must be at least 6m' });
    expect(parseMemory('lots')).toEqual({ error: '"lots" is not a size: write e.g. 512m or 1g' });
  });

  it('splits commands like a shell, with quotes', () => {
    expect(parseCommand(`sh -c "echo 'hi there'; sleep 1"`)).toEqual({ value: ['sh', '-c', "echo 'hi there'; sleep 1"] });
    expect(parseCommand(`echo "" a\\ b`)).toEqual({ value: ['echo', '', 'a b'] });
    expect(parseCommand('  ')).toEqual({ value: [] });
    expect(parseCommand('echo "open')).toEqual({ error: 'a " quote is not closed' });
  });
});

describe('validateRunForm', () => {
  it('builds the RunRequest from good input', () => {
    const result = validateRunForm(
      form({
        name: 'web',
        command: 'nginx -g "daemon off;"',
        env: 'A=1\nB=2',
        ports: '8080:80, 8443:443/tcp',
        volumes: 'data:/data\n/srv/site:/site:ro',
        network: 'backend',
        restartPolicy: 'always',
        memory: '512m',
        cpus: '1.5',
      }),
      4,
    );
    expect(result).toEqual({
      ok: true,
      request: {
        image: 'nginx:latest',
        name: 'web',
        command: ['nginx', '-g', 'daemon off;'],
        env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
        ports: [{ containerPort: 80, protocol: 'tcp', hostPort: 8080 }, { containerPort: 443, protocol: 'tcp', hostPort: 8443 }],
        mounts: [{ kind: 'volume', source: 'data', target: '/data', readOnly: false }, { kind: 'bind', source: '/srv/site', target: '/site', readOnly: true }],
        network: 'backend',
        restartPolicy: 'always',
        memoryBytes: 512 * 1024 * 1024,
        cpus: 1.5,
        autoRemove: false,
      },
    });
    expect(validateRunForm(form({}), 1)).toEqual({ ok: true, request: { image: 'nginx:latest', restartPolicy: 'no', autoRemove: false } });
  });

  it('answers every field error at once', () => {
    const result = validateRunForm(
      form({ image: ' ', name: '-bad', command: "sh -c 'x", env: 'NOPE', ports: '80:80, 80:80', volumes: 'a:/x\nb:/x', memory: '2', cpus: '9', autoRemove: true, restartPolicy: 'always' }),
      2,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual(['command', 'cpus', 'env', 'image', 'memory', 'name', 'ports', 'restartPolicy', 'volumes']);
    expect(result.errors.image).toBe('Enter an image, e.g. nginx:latest');
    expect(result.errors.ports).toBe('host port 80/tcp is used twice');
    expect(result.errors.volumes).toBe('two volumes are mounted at /x');
    expect(result.errors.cpus).toBe("at most 2 (the engine's CPUs)");
  });
});
