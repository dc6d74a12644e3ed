import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';
import { networkKit } from '../support/network-kit.js';

// Network configuration: berthd --bip for the default bridge, a bridge name chosen with
// `-o com.docker.network.bridge.name`, and removal taking exactly its own rules and links.
describe('network configuration', () => {
  const daemon = useDaemon({ image: 'oci', args: ['--bip', '172.30.0.1/16'] });
  const { docker, net, ok } = networkKit(daemon);
  const table = async (): Promise<string> => {
    const r = await net().exec(['nft', 'list', 'table', 'inet', 'berth']);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };
  const links = async (): Promise<string> => {
    const r = await net().exec(['ip', '-o', 'link']);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };
  const count = (text: string, needle: string): number => text.split('\n').filter((l) => l.includes(needle)).length;

  it('--bip sets the default bridge network: subnet, gateway and container addresses', async () => {
    const ipam = JSON.parse(await ok(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'bridge'])) as { Subnet?: string; Gateway?: string }[];
    expect(ipam).toEqual([expect.objectContaining({ Subnet: '172.30.0.0/16', Gateway: '172.30.0.1' })]);
    const r = await docker(['run', '--rm', TEST_IMAGE, 'sh', '-c', 'ip -4 addr show eth0; ip route']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/inet 172\.30\.\d+\.\d+\/16/);
    expect(r.stdout).toMatch(/default via 172\.30\.0\.1 dev eth0/);
  });

  it('-o com.docker.network.bridge.name names the Linux bridge, which goes with the network', async () => {
    await ok(['network', 'create', '-o', 'com.docker.network.bridge.name=berthtest0', 'n1']);
    try {
      const shown = await net().exec(['ip', '-o', 'link', 'show', 'berthtest0']);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toContain('berthtest0');
    } finally {
      await ok(['network', 'rm', 'n1']);
    }
    const gone = await net().exec(['ip', '-o', 'link', 'show', 'berthtest0']);
    expect(gone.code).not.toBe(0);
  });

  it('removing a container or a network removes exactly its rules and links', async () => {
    await ok(['network', 'create', '-o', 'com.docker.network.bridge.name=berthta0', 'neta']);
    await ok(['network', 'create', '-o', 'com.docker.network.bridge.name=berthtb0', 'netb']);
    try {
      await ok(['run', '-d', '--name', 'ca', '--network', 'neta', '-p', '18081:8080', TEST_IMAGE, 'sleep', '300']);
      await ok(['run', '-d', '--name', 'cb', '--network', 'netb', '-p', '18082:8080', TEST_IMAGE, 'sleep', '300']);
      const ipA = await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "neta").IPAddress}}', 'ca']);
      const ipB = await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "netb").IPAddress}}', 'cb']);
      const dnatA = `dport 18081 dnat ip to ${ipA}:8080`;
      const dnatB = `dport 18082 dnat ip to ${ipB}:8080`;

      const before = await table();
      const linksBefore = await links();
      expect(count(before, dnatA)).toBeGreaterThan(0);
      expect(count(before, dnatB)).toBeGreaterThan(0);
      expect(count(linksBefore, 'master berthta0')).toBe(1);
      expect(count(linksBefore, 'master berthtb0')).toBe(1);

      await ok(['rm', '-f', 'ca']);
      const afterCa = await table();
      const linksAfterCa = await links();
      expect(count(afterCa, dnatA)).toBe(0);
      expect(afterCa).not.toContain(`ip daddr ${ipA} `);
      expect(count(afterCa, dnatB)).toBe(count(before, dnatB));
      expect(count(linksAfterCa, 'master berthta0')).toBe(0);
      expect(count(linksAfterCa, 'master berthtb0')).toBe(1);
      // Only that container's lines went: every other line of the table is still there.
      const caLines = before.split('\n').filter((l) => l.includes(ipA));
      expect(afterCa.split('\n')).toEqual(before.split('\n').filter((l) => !caLines.includes(l)));

      const subnetA = await ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', 'neta']);
      const subnetB = await ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', 'netb']);
      await ok(['network', 'rm', 'neta']);
      const afterNeta = await table();
      const linksAfterNeta = await links();
      expect(afterNeta).not.toContain('"berthta0"');
      expect(afterNeta).not.toContain(`ip saddr ${subnetA} `);
      expect(count(linksAfterNeta, 'berthta0')).toBe(0);
      expect(count(afterNeta, '"berthtb0"')).toBe(count(afterCa, '"berthtb0"'));
      expect(afterNeta).toContain(`ip saddr ${subnetB} `);
      expect(count(afterNeta, dnatB)).toBe(count(before, dnatB));
      expect(count(linksAfterNeta, 'berthtb0:')).toBe(1);
      expect(count(linksAfterNeta, 'master berthtb0')).toBe(1);
    } finally {
      await docker(['rm', '-f', 'ca', 'cb']);
      await docker(['network', 'rm', 'neta', 'netb']);
    }
  });
});
