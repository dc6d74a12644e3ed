import { conflict, invalid } from '../errors.js';

/**
 * IPv4 address management for bridge networks, as Docker's default IPAM driver does it:
 *
 *   subnet   `--subnet`, else the first of Docker's local pools (172.17–172.31.0.0/16, then
 *            192.168.0.0/16 cut into /20s) that overlaps neither another network nor a route
 *            or address already present in berthd's network namespace;
 *   gateway  `--gateway`, else the first host address of the subnet;
 *   range    `--ip-range`: container addresses come from this sub-range (default: the subnet);
 *   address  `--ip` when given (must be in the subnet, not the gateway, not taken), else the
 *            lowest free host address of the range.
 *
 * Everything here is pure: the allocated set is the network's endpoints (persisted by the
 * network store), and the addresses in use on the host are read once by the caller.
 */
export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefix: number;
}

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return (((parts[0] as number) << 24) >>> 0) + ((parts[1] as number) << 16) + ((parts[2] as number) << 8) + (parts[3] as number);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `a.b.c.d/n` → its network; `strict` refuses host bits (Docker: "invalid subnet"). */
export function parseCidr(text: string, what = 'subnet', strict = true): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  const addr = m ? parseIpv4(m[1] as string) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (addr === undefined || !(prefix >= 0 && prefix <= 32)) {
    if (text.includes(':')) throw invalid(`IPv6 ${what}s are not supported by berthd: ${text}`);
    throw invalid(`invalid ${what} ${text}: invalid CIDR address`);
  }
  const base = (addr & mask(prefix)) >>> 0;
  if (strict && base !== addr) throw invalid(`invalid ${what} ${text}: it should be ${formatIpv4(base)}/${prefix}`);
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.base)}/${c.prefix}`;
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.prefix)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** Docker's default local address pools, in the order it tries them. */
export function* defaultPools(): Generator<Cidr> {
  for (let b = 17; b <= 31; b++) yield { base: ((172 << 24) >>> 0) + (b << 16), prefix: 16 };
  for (let i = 0; i < 16; i++) yield { base: ((192 << 24) >>> 0) + (168 << 16) + (i << 12), prefix: 20 };
}

/** The first default pool overlapping nothing in `taken`; 403-free Docker wording when none. */
export function chooseSubnet(taken: readonly Cidr[], preferred?: Cidr): Cidr {
  if (preferred && !taken.some((t) => overlaps(t, preferred))) return preferred;
  for (const pool of defaultPools()) if (!taken.some((t) => overlaps(t, pool))) return pool;
  throw conflict('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

/** The IPAM part of a network, as `docker network create` gives it, checked and completed. */
export interface PoolConfig {
  readonly Subnet: string;
  readonly Gateway: string;
  readonly IPRange?: string;
}

export interface PoolRequest {
  readonly Subnet?: string;
  readonly Gateway?: string;
  readonly IPRange?: string;
}

/** Completes a request (`--subnet/--gateway/--ip-range`) against the subnets in `taken`. */
export function planPool(req: PoolRequest, taken: readonly Cidr[], preferred?: Cidr): PoolConfig {
  if (!req.Subnet && (req.Gateway || req.IPRange)) throw invalid('a gateway or IP range requires a subnet (--subnet)');
  const subnet = req.Subnet ? parseCidr(req.Subnet) : chooseSubnet(taken, preferred);
  if (req.Subnet && taken.some((t) => overlaps(t, subnet))) throw conflict('Pool overlaps with other one on this address space');
  if (subnet.prefix > 30) throw invalid(`invalid subnet ${req.Subnet ?? ''}: too small for a network (at most /30)`);
  let gateway = subnet.base + 1;
  if (req.Gateway) {
    const g = parseIpv4(req.Gateway);
    if (g === undefined) throw invalid(`invalid gateway address ${req.Gateway}`);
    if (!contains(subnet, g)) throw invalid(`no matching subnet for gateway ${req.Gateway}`);
    gateway = g;
  }
  let range: Cidr | undefined;
  if (req.IPRange) {
    range = parseCidr(req.IPRange, 'ip-range');
    if (!contains(subnet, range.base) || range.prefix < subnet.prefix) throw invalid(`ip-range ${req.IPRange} is not within subnet ${formatCidr(subnet)}`);
  }
  return { Subnet: formatCidr(subnet), Gateway: formatIpv4(gateway), ...(range ? { IPRange: formatCidr(range) } : {}) };
}

/**
 * Picks a container address in `pool`: `requested` (checked) or the lowest free one of the
 * range. `used` holds every address already taken (endpoints; the gateway is added here).
 */
export function allocateAddress(pool: PoolConfig, used: ReadonlySet<string>, requested?: string): string {
  const subnet = parseCidr(pool.Subnet);
  const taken = new Set(used);
  taken.add(pool.Gateway);
  const broadcast = subnet.base + size(subnet) - 1;
  if (requested) {
    const ip = parseIpv4(requested);
    if (ip === undefined) throw invalid(`invalid IPv4 address: ${requested}`);
    if (!contains(subnet, ip)) throw invalid(`no configured subnet contains IP address ${requested}`);
    if (ip === subnet.base || ip === broadcast) throw invalid(`invalid IPv4 address ${requested}: network or broadcast address`);
    if (taken.has(requested)) throw conflict(`Address already in use: ${requested}`);
    return requested;
  }
  const range = pool.IPRange ? parseCidr(pool.IPRange) : subnet;
  const first = Math.max(range.base, subnet.base + 1);
  const last = Math.min(range.base + size(range) - 1, broadcast - 1);
  for (let ip = first; ip <= last; ip++) {
    const text = formatIpv4(ip);
    if (!taken.has(text)) return text;
  }
  throw conflict(`no available IPv4 addresses on this network's address pools: ${pool.IPRange ?? pool.Subnet}`);
}

/** Docker's MAC for an address: 02:42 followed by the four bytes of the IPv4 address. */
export function macForAddress(ip: string): string {
  const n = parseIpv4(ip) ?? 0;
  const bytes = [2, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function prefixLength(pool: PoolConfig): number {
  return parseCidr(pool.Subnet).prefix;
}

/**
 * The subnets already in use in berthd's network namespace, from `ip -j route` and
 * `ip -j addr` output: every route destination and every configured address's network
 * (the default route is ignored: it overlaps everything).
 */
export function subnetsInUse(routesJson: string, addrsJson: string): Cidr[] {
  const out: Cidr[] = [];
  const routes = safeJson(routesJson);
  for (const r of Array.isArray(routes) ? routes : []) {
    const dst = (r as { dst?: unknown }).dst;
    if (typeof dst !== 'string' || dst === 'default') continue;
    const cidr = dst.includes('/') ? dst : `${dst}/32`;
    if (parseIpv4(cidr.split('/')[0] as string) !== undefined) out.push(parseCidr(cidr, 'route', false));
  }
  const links = safeJson(addrsJson);
  for (const l of Array.isArray(links) ? links : []) {
    for (const a of (l as { addr_info?: { family?: string; local?: string; prefixlen?: number }[] }).addr_info ?? []) {
      if (a.family !== 'inet' || !a.local || a.prefixlen === undefined || a.local.startsWith('127.')) continue;
      out.push(parseCidr(`${a.local}/${a.prefixlen}`, 'address', false));
    }
  }
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return [];
  }
}
