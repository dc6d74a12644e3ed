/**
 * The checks of a new network's name, subnet and gateway, in one place: the renderer shows
 * them field by field as the user types, and the main process refuses with the first one
 * before anything reaches the engine. Pure; IPv4 only (as berthd's IPAM).
 */
export type NetworkField = 'name' | 'subnet' | 'gateway';
export type NetworkFormProblems = Partial<Record<NetworkField, string>>;

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const BUILT_IN_NETWORKS: readonly string[] = ['bridge', 'host', 'none'];

/** A dotted IPv4 address as a 32-bit number, or undefined when it is not one. */
export function ipv4ToNumber(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    value = value * 256 + Number(p);
  }
  return value;
}

function dotted(value: number): string {
  return [24, 16, 8, 0].map((s) => (value >>> s) & 255).join('.');
}

/** `10.5.0.0/24` → its network and mask, or the problem (host bits set are refused, as the engine does). */
export function parseSubnet(value: string): { network: number; prefix: number; mask: number } | string {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(value);
  const network = m === null ? undefined : ipv4ToNumber(m[1] ?? '');
  const prefix = m === null ? NaN : Number(m[2]);
  if (network === undefined || !(prefix >= 1 && prefix <= 30)) return `Subnet "${value}" is not an IPv4 CIDR: write it like 10.5.0.0/24 (prefix 1 to 30)`;
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  if ((network & ~mask) >>> 0 !== 0) return `Subnet "${value}" has host bits set: did you mean ${dotted((network & mask) >>> 0)}/${prefix}?`;
  return { network, prefix, mask };
}

/** What is wrong with a new network's fields (empty when nothing); `existing` are names in use. */
export function networkFormProblems(form: { name: string; subnet?: string; gateway?: string }, existing: readonly string[] = []): NetworkFormProblems {
  const problems: NetworkFormProblems = {};
  const name = form.name.trim();
  if (name === '') problems.name = 'Enter a name for the network.';
  else if (!NETWORK_NAME.test(name)) problems.name = `"${name}" is not a valid network name: use a-z, A-Z, 0-9, _ . -, starting with a letter or digit`;
  else if (BUILT_IN_NETWORKS.includes(name)) problems.name = `"${name}" is a built-in network's name; pick another`;
  else if (existing.includes(name)) problems.name = `A network named ${name} already exists.`;

  const subnet = (form.subnet ?? '').trim();
  const range = subnet === '' ? undefined : parseSubnet(subnet);
  if (typeof range === 'string') problems.subnet = range;

  const gateway = (form.gateway ?? '').trim();
  if (gateway !== '') {
    const address = ipv4ToNumber(gateway);
    if (address === undefined) problems.gateway = `Gateway "${gateway}" is not an IPv4 address: write it like 10.5.0.1`;
    else if (subnet === '') problems.gateway = 'A gateway needs a subnet: give the subnet it belongs to too';
    else if (range !== undefined && typeof range !== 'string') {
      const broadcast = (range.network | ~range.mask) >>> 0;
      if ((address & range.mask) >>> 0 !== range.network) problems.gateway = `Gateway ${gateway} is outside the subnet ${subnet}: it must be inside the subnet`;
      else if (address === range.network || address === broadcast) problems.gateway = `Gateway ${gateway} is the subnet's network or broadcast address; pick a host address`;
    }
  }
  return problems;
}
