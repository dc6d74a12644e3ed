import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { parsePortBindings, containerPorts } from '../../../runtime-agent/src/network/ports/bindings.js';

const spec = (proto: 'tcp' | 'udp', containerPort: number, hostIp: string, hostPort: number, hostPortEnd = hostPort) => ({ proto, containerPort, hostIp, hostPort, hostPortEnd });

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isBerthError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('port bindings: what the docker CLI sends', () => {
  it('-p 8080:80, -p 127.0.0.1:5353:53/udp, -p 443 (random)', () => {
    expect(parsePortBindings({
      exposedPorts: { '80/tcp': {}, '53/udp': {}, '443/tcp': {} },
      portBindings: {
        '80/tcp': [{ HostIp: '', HostPort: '8080' }],
        '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
        '443/tcp': [{ HostIp: '', HostPort: '' }],
      },
    })).toEqual([spec('udp', 53, '127.0.0.1', 5353), spec('tcp', 80, '0.0.0.0', 8080), spec('tcp', 443, '0.0.0.0', 0)]);
  });
  it('-p 8000-8002:80-82 arrives expanded, one key per container port', () => {
    expect(parsePortBindings({
      portBindings: {
        '82/tcp': [{ HostIp: '', HostPort: '8002' }],
        '80/tcp': [{ HostIp: '', HostPort: '8000' }],
        '81/tcp': [{ HostIp: '', HostPort: '8001' }],
      },
    })).toEqual([spec('tcp', 80, '0.0.0.0', 8000), spec('tcp', 81, '0.0.0.0', 8001), spec('tcp', 82, '0.0.0.0', 8002)]);
  });
  it('-p 8000-8010:80 keeps the host range (first free port is picked later)', () => {
    expect(parsePortBindings({ portBindings: { '80/tcp': [{ HostIp: '', HostPort: '8000-8010' }] } }))
      .toEqual([spec('tcp', 80, '0.0.0.0', 8000, 8010)]);
  });
  it('two host ports for one container port, HostPort "0", a missing proto, bracketed IPv4', () => {
    expect(parsePortBindings({
      portBindings: { '80': [{ HostPort: '8080' }, { HostIp: '[127.0.0.1]', HostPort: '0' }] },
    })).toEqual([spec('tcp', 80, '0.0.0.0', 8080), spec('tcp', 80, '127.0.0.1', 0)]);
  });
  it('-P publishes every exposed port without a binding on a random port; explicit ones win', () => {
    expect(parsePortBindings({
      exposedPorts: { '80/tcp': {}, '53/udp': {}, '9000-9001/tcp': {} },
      portBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
      publishAllPorts: true,
    })).toEqual([spec('udp', 53, '0.0.0.0', 0), spec('tcp', 80, '0.0.0.0', 8080), spec('tcp', 9000, '0.0.0.0', 0), spec('tcp', 9001, '0.0.0.0', 0)]);
  });
  it('exposed but not published, or null bindings: nothing to open', () => {
    expect(parsePortBindings({ exposedPorts: { '80/tcp': {} }, portBindings: { '81/tcp': null } })).toEqual([]);
    expect(parsePortBindings({})).toEqual([]);
  });
  it('containerPorts is the union of ExposedPorts and PortBindings keys', () => {
    expect(containerPorts({ exposedPorts: { '80/tcp': {} }, portBindings: { '53/udp': [] } })).toEqual([
      { proto: 'udp', port: 53 },
      { proto: 'tcp', port: 80 },
    ]);
  });
});

describe('port bindings: refusals (400, Docker\'s messages)', () => {
  it('bad container ports', () => {
    expect(refusal(() => parsePortBindings({ portBindings: { 'x/tcp': [] } }))).toEqual({ code: 'invalid-parameter', message: 'invalid port specification: "x"' });
    expect(refusal(() => parsePortBindings({ portBindings: { '70000/tcp': [] } })).message).toBe('invalid port specification: "70000"');
    expect(refusal(() => parsePortBindings({ portBindings: { '0/tcp': [] } })).message).toBe('invalid port specification: "0"');
    expect(refusal(() => parsePortBindings({ portBindings: { '80-82/tcp': [] } })).message).toBe('invalid port specification: "80-82"');
    expect(refusal(() => parsePortBindings({ exposedPorts: { '82-80/tcp': {} } })).message).toBe('invalid port specification: "82-80"');
  });
  it('bad host ports and addresses', () => {
    expect(refusal(() => parsePortBindings({ portBindings: { '80/tcp': [{ HostPort: 'x' }] } })).message).toBe('invalid port specification: "x"');
    expect(refusal(() => parsePortBindings({ portBindings: { '80/tcp': [{ HostPort: '9000-8000' }] } })).message).toBe('invalid port specification: "9000-8000"');
    expect(refusal(() => parsePortBindings({ portBindings: { '80/tcp': [{ HostPort: '65536' }] } })).message).toBe('invalid port specification: "65536"');
    expect(refusal(() => parsePortBindings({ portBindings: { '80/tcp': [{ HostIp: 'x', HostPort: '80' }] } })).message).toBe('invalid IP address: x');
    expect(refusal(() => parsePortBindings({ portBindings: { '80/tcp': [{ HostIp: '1.2.3.256' }] } })).message).toBe('invalid IP address: 1.2.3.256');
    expect(refusal(() => parsePortBindings({ portBindings: { '80/tcp': [{ HostPort: 8080 }] } })).message).toBe('invalid HostPort for 80/tcp: must be a string');
    expect(refusal(() => parsePortBindings({ portBindings: { '80/tcp': { HostPort: '8080' } } })).message).toBe('invalid PortBindings for 80/tcp: must be a list');
  });
  it('protocols: sctp is not supported, others are invalid', () => {
    expect(refusal(() => parsePortBindings({ portBindings: { '80/sctp': [{ HostPort: '80' }] } }))).toEqual({ code: 'invalid-parameter', message: 'sctp ports are not supported by berthd: 80/sctp' });
    expect(refusal(() => parsePortBindings({ exposedPorts: { '80/foo': {} } })).message).toBe('invalid proto: foo');
  });
  it('IPv6 host addresses are refused clearly', () => {
    expect(refusal(() => parsePortBindings({ portBindings: { '80/tcp': [{ HostIp: '::', HostPort: '80' }] } })).message)
      .toBe('publishing on an IPv6 host address is not supported by berthd yet: ::');
  });
});
