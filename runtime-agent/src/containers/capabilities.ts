import { invalid } from '../errors.js';

/** Linux capability numbers (include/uapi/linux/capability.h). */
const CAPABILITIES: readonly string[] = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID',
  'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW',
  'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT',
  'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD',
  'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

/** Docker's default set: the 14 capabilities every unprivileged container keeps. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

function normalise(name: string): string {
  const upper = name.trim().toUpperCase();
  const bare = upper.startsWith('CAP_') ? upper.slice(4) : upper;
  if (bare !== 'ALL' && !CAPABILITIES.includes(bare)) throw invalid(`unknown capability: "${name}"`);
  return bare;
}

/** Validates --cap-add / --cap-drop values (names with or without CAP_, or ALL). */
export function validateCapabilities(list: readonly string[] | null | undefined): void {
  for (const name of list ?? []) normalise(name);
}

/** Docker's rules: start from the defaults (or all when privileged), drop, then add. */
export function effectiveCapabilities(
  add: readonly string[] | null | undefined,
  drop: readonly string[] | null | undefined,
  privileged: boolean,
): number[] {
  if (privileged) return CAPABILITIES.map((_, i) => i);
  const adds = (add ?? []).map(normalise);
  const drops = (drop ?? []).map(normalise);
  let set = new Set(DEFAULT_CAPABILITIES);
  if (drops.includes('ALL')) set = new Set();
  else for (const d of drops) set.delete(d);
  if (adds.includes('ALL')) set = new Set(CAPABILITIES);
  else for (const a of adds) set.add(a);
  return [...set].map((name) => CAPABILITIES.indexOf(name)).sort((a, b) => a - b);
}
