import { describe, expect, it } from 'vitest';
import type { PublishedPort } from '../../../runtime-agent/src/network/ports/bindings.js';
import { dnatRules } from '../../../runtime-agent/src/network/ports/dnat.js';
import { portMapView, psPortsView } from '../../../runtime-agent/src/network/ports/inspect.js';

const published: PublishedPort[] = [
  { proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 },
  { proto: 'tcp', containerPort: 80, hostIp: '10.0.0.5', hostPort: 8081 },
  { proto: 'udp', containerPort: 53, hostIp: '127.0.0.1', hostPort: 5353 },
];

describe('published-port DNAT text', () => {
  it('matches the nft lines exactly', () => {
    expect(dnatRules(published, { containerIp: '172.17.0.2', bridge: 'berth0' })).toEqual({
      prerouting: [
        'meta nfproto ipv4 iifname != "berth0" fib daddr type local tcp dport 8080 dnat ip to 172.17.0.2:80',
        'iifname != "berth0" ip daddr 10.0.0.5 tcp dport 8081 dnat ip to 172.17.0.2:80',
      ],
      output: [
        'meta nfproto ipv4 fib daddr type local tcp dport 8080 dnat ip to 172.17.0.2:80',
        'ip daddr 10.0.0.5 tcp dport 8081 dnat ip to 172.17.0.2:80',
        'ip daddr 127.0.0.1 udp dport 5353 dnat ip to 172.17.0.2:53',
      ],
      // one accept per container port; the loopback-only udp binding is output DNAT only:
      // no prerouting (never from outside), no forward accept (local traffic skips forward)
      forward: ['ip daddr 172.17.0.2 iifname != "berth0" oifname "berth0" tcp dport 80 accept'],
    });
  });
  it('nothing published, nothing to add', () => {
    expect(dnatRules([], { containerIp: '172.17.0.2', bridge: 'berth0' })).toEqual({ prerouting: [], output: [], forward: [] });
  });
});

describe('inspect and ps views', () => {
  const config = { exposedPorts: { '80/tcp': {}, '443/tcp': {}, '53/udp': {} }, portBindings: { '80/tcp': [{ HostPort: '8080' }] } };
  it('NetworkSettings.Ports: bindings per container port, null when only exposed', () => {
    expect(portMapView(config, published)).toEqual({
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '10.0.0.5', HostPort: '8081' }],
      '443/tcp': null,
    });
    expect(portMapView(config, [], false)).toEqual({});
  });
  it('ps Ports: one entry per host binding, exposed-only ports without IP/PublicPort', () => {
    expect(psPortsView(config, published)).toEqual([
      { IP: '127.0.0.1', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '10.0.0.5', PrivatePort: 80, PublicPort: 8081, Type: 'tcp' },
      { PrivatePort: 443, Type: 'tcp' },
    ]);
    expect(psPortsView(config, published, false)).toEqual([]);
  });
  it('a malformed stored EXPOSE never breaks a view', () => {
    expect(portMapView({ exposedPorts: { 'bogus': {}, '80/tcp': {} } }, [])).toEqual({ '80/tcp': null });
  });
});
