import { invalid } from '../errors.js';
import { isIPv4 } from 'node:net';
import type { ExecSpec, HoldSpec, InterfaceSpec, MountSpec, ProcessSpec, SeccompMode } from './protocol.js';

/**
 * ProcessSpec / ExecSpec / HoldSpec → the helper's wire format (docs/helper-protocol.md):
 * NUL-terminated `key=value` records, `version=1` first, `end` last. Repeated keys make lists,
 * in order; `berth-helper run`, `exec` and `hold` take different sets of keys.
 * Everything the helper would refuse is refused here first, as an `invalid-parameter`
 * BerthError naming the field: a NUL in any string (it would cut the record), a tab in a
 * mount field (the field separator), separators overlay cannot take in layer paths.
 */
export const SPEC_VERSION = 1;

/** The rlimit names the helper knows (RLIMIT_* without the prefix, lower case). */
export const RLIMIT_NAMES: readonly string[] = [
  'cpu', 'fsize', 'data', 'stack', 'core', 'rss', 'nproc', 'nofile', 'memlock', 'as', 'locks',
  'sigpending', 'msgqueue', 'nice', 'rtprio', 'rttime',
];

const MAX_ID = 0xfffffffe; // (uid_t)-1 means "unchanged" to the kernel
const MAX_PID = 0x7fffffff;
/** struct winsize holds rows and cols as unsigned shorts. */
export const MAX_TERMINAL_SIZE = 65535;

function refuse(field: string, problem: string): never {
  throw invalid(`helper spec: ${field} ${problem}`);
}

function text(field: string, value: string): string {
  if (value.includes('\0')) refuse(field, 'contains a NUL byte');
  return value;
}

function absolute(field: string, value: string): string {
  if (!value.startsWith('/')) refuse(field, `must be an absolute path, received "${value}"`);
  return text(field, value);
}

function integer(field: string, value: number, min: number, max: number): string {
  if (!Number.isInteger(value) || value < min || value > max) {
    refuse(field, `must be an integer from ${min} to ${max}, received ${value}`);
  }
  return String(value);
}

function flag(value: boolean): string {
  return value ? '1' : '0';
}

/** An rlimit value: -1 (Docker's "unlimited") or a non-negative integer. */
function rlimitValue(field: string, value: number): string {
  if (value === -1) return 'unlimited';
  return integer(field, value, 0, Number.MAX_SAFE_INTEGER);
}

type Records = [string, string][];

/** `iface=<name>\t<address>\t<prefix length>[\t<gateway>]`. */
function interfaceRecord(i: number, spec: InterfaceSpec): string {
  const field = `interfaces[${i}]`;
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(spec.name)) refuse(`${field}.name`, `is not an interface name: "${spec.name}"`);
  if (!isIPv4(spec.address)) refuse(`${field}.address`, `is not an IPv4 address: "${spec.address}"`);
  const fields = [spec.name, spec.address, integer(`${field}.prefixLength`, spec.prefixLength, 1, 32)];
  if (spec.gateway !== undefined) {
    if (!isIPv4(spec.gateway)) refuse(`${field}.gateway`, `is not an IPv4 address: "${spec.gateway}"`);
    fields.push(spec.gateway);
  }
  return fields.join('\t');
}

/** The command and its identity: the same keys, in the same order, for run and exec. */
function commandRecords(r: Records, spec: ProcessSpec | ExecSpec): void {
  if (spec.args.length === 0) refuse('args', 'is empty: no command to run');
  spec.args.forEach((a, i) => r.push(['arg', text(`args[${i}]`, a)]));
  spec.env.forEach((e, i) => r.push(['env', text(`env[${i}]`, e)]));
  r.push(['cwd', absolute('cwd', spec.cwd)]);
  r.push(['uid', integer('user.uid', spec.user.uid, 0, MAX_ID)], ['gid', integer('user.gid', spec.user.gid, 0, MAX_ID)]);
  spec.user.additionalGids.forEach((g, i) => r.push(['additional-gid', integer(`user.additionalGids[${i}]`, g, 0, MAX_ID)]));
  spec.capabilities.forEach((c, i) => r.push(['cap', integer(`capabilities[${i}]`, c, 0, 63)]));
}

/** `tty`, and the initial size when there is a terminal to size (ignored without one). */
function terminalRecords(r: Records, spec: ProcessSpec | ExecSpec): void {
  r.push(['tty', flag(spec.tty)]);
  if (spec.tty && spec.consoleSize) {
    r.push(
      ['console-rows', integer('consoleSize.rows', spec.consoleSize.rows, 0, MAX_TERMINAL_SIZE)],
      ['console-cols', integer('consoleSize.cols', spec.consoleSize.cols, 0, MAX_TERMINAL_SIZE)],
    );
  }
}

/** `lower`… then `upper` and `work` (when given): the overlay's layers, in overlay order. */
function layerRecords(r: Records, rootfs: Pick<HoldSpec['rootfs'], 'lower' | 'upper' | 'work'>): void {
  if (rootfs.lower.length === 0) refuse('rootfs.lower', 'is empty');
  for (const [i, dir] of rootfs.lower.entries()) {
    if (/[:,\\]/.test(dir)) refuse(`rootfs.lower[${i}]`, `holds ':', ',' or '\\' (overlay separators): "${dir}"`);
    r.push(['lower', absolute(`rootfs.lower[${i}]`, dir)]);
  }
  for (const key of ['upper', 'work'] as const) {
    const dir = rootfs[key];
    if (dir === undefined) continue;
    if (/[,\\]/.test(dir)) refuse(`rootfs.${key}`, `holds ',' or '\\' (overlay separators): "${dir}"`);
    r.push([key, absolute(`rootfs.${key}`, dir)]);
  }
}

/** `mount=<source>\t<destination>\t<type>\t<options>`, one per mount, in order. */
function mountRecords(r: Records, mounts: readonly MountSpec[]): void {
  mounts.forEach((m, i) => {
    const fields = [m.source, m.destination, m.type, m.options.join(',')];
    for (const [j, f] of fields.entries()) {
      if (f.includes('\t')) refuse(`mounts[${i}]`, `holds a tab in ${['source', 'destination', 'type', 'options'][j]}`);
      text(`mounts[${i}]`, f);
    }
    if (m.options.some((o) => o.includes(','))) refuse(`mounts[${i}].options`, 'holds a comma inside an option');
    absolute(`mounts[${i}].destination`, m.destination);
    r.push(['mount', fields.join('\t')]);
  });
}

function processRecords(spec: ProcessSpec): Records {
  const r: Records = [['version', String(SPEC_VERSION)]];
  const { rootfs } = spec;
  layerRecords(r, rootfs);
  r.push(['target', absolute('rootfs.target', rootfs.target)], ['rootfs-readonly', flag(rootfs.readonly)]);
  r.push(['hostname', text('hostname', spec.hostname)]);
  commandRecords(r, spec);
  const net = spec.network;
  r.push(['net', net.kind === 'path' ? absolute('network.path', net.path) : net.kind]);
  const interfaces = spec.interfaces ?? [];
  if (interfaces.length > 0 && net.kind !== 'new') refuse('interfaces', `need a new network namespace, not ${net.kind}`);
  interfaces.forEach((f, i) => r.push(['iface', interfaceRecord(i, f)]));
  mountRecords(r, spec.mounts);
  spec.maskedPaths.forEach((p, i) => r.push(['mask', absolute(`maskedPaths[${i}]`, p)]));
  spec.readonlyPaths.forEach((p, i) => r.push(['readonly', absolute(`readonlyPaths[${i}]`, p)]));
  spec.rlimits.forEach((l, i) => {
    if (!RLIMIT_NAMES.includes(l.type)) refuse(`rlimits[${i}].type`, `is not one of ${RLIMIT_NAMES.join(', ')}: "${l.type}"`);
    const soft = rlimitValue(`rlimits[${i}].soft`, l.soft);
    const hard = rlimitValue(`rlimits[${i}].hard`, l.hard);
    if (l.hard !== -1 && (l.soft === -1 || l.soft > l.hard)) refuse(`rlimits[${i}]`, 'has a soft limit above its hard limit');
    r.push(['rlimit', `${l.type}:${soft}:${hard}`]);
  });
  r.push(
    ['no-new-privileges', flag(spec.noNewPrivileges)],
    ['privileged', flag(spec.privileged)],
    ['open-stdin', flag(spec.openStdin)],
    ['oom-score-adj', integer('oomScoreAdj', spec.oomScoreAdj, -1000, 1000)],
  );
  terminalRecords(r, spec);
  r.push(['init', flag(spec.init)], ['seccomp', seccomp(spec.seccomp)]);
  return r;
}

function execRecords(spec: ExecSpec): Records {
  const r: Records = [['version', String(SPEC_VERSION)]];
  r.push(['container-pid', integer('containerPid', spec.containerPid, 1, MAX_PID)]);
  commandRecords(r, spec);
  r.push(['no-new-privileges', flag(spec.noNewPrivileges)], ['open-stdin', flag(spec.openStdin)]);
  terminalRecords(r, spec);
  r.push(['seccomp', seccomp(spec.seccomp)]);
  return r;
}

function holdRecords(spec: HoldSpec): Records {
  const r: Records = [['version', String(SPEC_VERSION)]];
  const { rootfs } = spec;
  if ((rootfs.upper === undefined) !== (rootfs.work === undefined)) {
    refuse('rootfs.upper', 'and rootfs.work go together: both for a writable overlay, neither for a read-only one');
  }
  layerRecords(r, rootfs);
  r.push(['target', absolute('rootfs.target', rootfs.target)]);
  mountRecords(r, spec.mounts);
  return r;
}

function seccomp(mode: SeccompMode): SeccompMode {
  if (mode !== 'default' && mode !== 'unconfined') refuse('seccomp', `is not default or unconfined: "${String(mode)}"`);
  return mode;
}

function encode(r: Records): Buffer {
  const body = r.map(([k, v]) => `${k}=${v}\0`).join('');
  return Buffer.from(`${body}end\0`, 'utf8');
}

/** Encodes a spec for `berth-helper run`; throws `invalid-parameter` for what it cannot carry. */
export function encodeProcessSpec(spec: ProcessSpec): Buffer {
  return encode(processRecords(spec));
}

/** Encodes an exec spec for `berth-helper exec`; throws `invalid-parameter` for what it cannot carry. */
export function encodeExecSpec(spec: ExecSpec): Buffer {
  return encode(execRecords(spec));
}

/** Encodes a hold spec for `berth-helper hold`; throws `invalid-parameter` for what it cannot carry. */
export function encodeHoldSpec(spec: HoldSpec): Buffer {
  return encode(holdRecords(spec));
}

/** The records of an encoded spec, in order, without the final `end` (for tests and logs). */
export function decodeSpecRecords(encoded: Buffer): [string, string][] {
  const parts = encoded.toString('utf8').split('\0');
  if (parts.pop() !== '' || parts.pop() !== 'end') throw new Error('spec records must end with "end\\0"');
  return parts.map((p) => {
    const eq = p.indexOf('=');
    if (eq < 0) throw new Error(`expected key=value, received "${p}"`);
    return [p.slice(0, eq), p.slice(eq + 1)];
  });
}
