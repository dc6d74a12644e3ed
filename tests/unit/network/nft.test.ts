import { describe, expect, it } from 'vitest';
import { renderTable } from '../../../runtime-agent/src/network/nft.js';

describe('nftables table text', () => {
  const text = renderTable(
    [
      { bridge: 'berth0', subnet: '172.17.0.0/16', internal: false },
      { bridge: 'br-sealed', subnet: '172.19.0.0/16', internal: true },
    ],
    { prerouting: ['tcp dport 8080 dnat ip to 172.17.0.2:80'], output: ['ip daddr 127.0.0.1 tcp dport 8080 dnat ip to 172.17.0.2:80'] },
  );

  it('is one inet berth table with the bridges set', () => {
    expect(text.startsWith('table inet berth {\n')).toBe(true);
    expect(text).toContain('elements = { "berth0", "br-sealed" }');
  });

  it('masquerades normal networks only, and isolates every network from the others', () => {
    expect(text).toContain('ip saddr 172.17.0.0/16 oifname != "berth0" masquerade');
    expect(text).not.toContain('172.19.0.0/16');
    // loopback sources DNAT'd in output leave through any bridge masqueraded
    expect(text).toMatch(/chain postrouting \{\n.*hook postrouting.*\n\s+ip saddr 172\.17\.0\.0\/16 oifname != "berth0" masquerade\n\s+ip saddr 127\.0\.0\.0\/8 oifname "berth0" masquerade\n\s+ip saddr 127\.0\.0\.0\/8 oifname "br-sealed" masquerade\n\s+\}/);
    expect(text).toContain('iifname "berth0" oifname @bridges drop');
    expect(text).toContain('iifname "br-sealed" drop');
    expect(text).toContain('oifname "br-sealed" drop');
    // Inside a network first, then the rest: order matters.
    expect(text.indexOf('iifname "berth0" oifname "berth0" accept')).toBeLessThan(text.indexOf('iifname "berth0" oifname @bridges drop'));
  });

  it('drops new 127.0.0.0/8-addressed packets coming in from bridges (route_localnet is on)', () => {
    expect(text).toMatch(/chain input \{\n\s+type filter hook input priority filter; policy accept;\n\s+iifname @bridges ip daddr 127\.0\.0\.0\/8 ct state \{ invalid, new, untracked \} drop\n\s+\}/);
  });

  it('places the ports module\'s DNAT lines in the nat chains', () => {
    expect(text).toMatch(/chain prerouting \{\n.*hook prerouting.*\n\s+tcp dport 8080 dnat ip to 172\.17\.0\.2:80\n/);
    expect(text).toMatch(/chain output \{\n.*hook output.*\n\s+ip daddr 127\.0\.0\.1 tcp dport 8080/);
  });

  it('has an empty set and no rules without networks', () => {
    const empty = renderTable([]);
    expect(empty).not.toContain('elements');
    expect(empty).not.toContain('masquerade');
    expect(empty).not.toContain('drop');
  });
});
