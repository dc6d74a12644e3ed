import type { RestartPolicy, RunRequest } from '@shared/bridge.js';

/**
 * The Run dialog's fields as typed, and their parsing into a RunRequest. Pure: the dialog
 * shows the errors inline (one per field) and sends nothing until there are none. The main
 * process checks the request again (services/run-request.ts); this is for messages while typing.
 */
export interface RunForm {
  image: string;
  name: string;
  /** As typed in a shell: `sh -c "echo hi"`. */
  command: string;
  /** One KEY=VALUE per line. */
  env: string;
  /** One per line (or comma-separated): `8080:80`, `127.0.0.1:8080:80/tcp`, `80` (any free host port). */
  ports: string;
  /** One per line: `name:/path[:ro]` (a volume) or `/host/path:/path[:ro]` (a bind). */
  volumes: string;
  network: string;
  restartPolicy: RestartPolicy;
  /** `512m`, `1g`, `1.5G`, bytes; empty = no limit. */
  memory: string;
  /** `0.5`, `2`; empty = no limit. */
  cpus: string;
  autoRemove: boolean;
}

export type RunFormField = keyof RunForm;
export type RunFormErrors = Partial<Record<RunFormField, string>>;
export type RunFormResult = { readonly ok: true; readonly request: RunRequest } | { readonly ok: false; readonly errors: RunFormErrors };

type Port = NonNullable<RunRequest['ports']>[number];
type Mount = NonNullable<RunRequest['mounts']>[number];
type Parsed<T> = { value: T } | { error: string };

export function emptyRunForm(): RunForm {
  return { image: '', name: '', command: '', env: '', ports: '', volumes: '', network: '', restartPolicy: 'no', memory: '', cpus: '', autoRemove: false };
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/** Docker's own floor for --memory. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

function portNumber(text: string, what: string, allowZero: boolean): Parsed<number> {
  if (!/^\d+$/.test(text)) return { error: `${what} "${text}" is not a number` };
  const n = Number(text);
  if (n < (allowZero ? 0 : 1) || n > 65535) return { error: `${what} ${n} must be between ${allowZero ? 0 : 1} and 65535` };
  return { value: n };
}

/** `[hostIp:][hostPort:]containerPort[/tcp|udp]`. */
export function parsePort(spec: string): Parsed<Port> {
  const text = spec.trim();
  const [main = '', proto = 'tcp', ...extra] = text.split('/');
  if (extra.length > 0 || (proto !== 'tcp' && proto !== 'udp')) return { error: `port "${text}": the protocol must be tcp or udp` };
  const parts = main.split(':');
  if (parts.length > 3) return { error: `port "${text}": write it as host:container, e.g. 8080:80` };
  const containerText = parts.at(-1) ?? '';
  const container = portNumber(containerText, `port "${text}": container port`, false);
  if ('error' in container) return container;
  let hostPort: number | undefined;
  if (parts.length >= 2 && parts.at(-2) !== '') {
    const host = portNumber(parts.at(-2) ?? '', `port "${text}": host port`, true);
    if ('error' in host) return host;
    hostPort = host.value;
  }
  let hostIp: string | undefined;
  if (parts.length === 3) {
    const ip = IPV4.exec(parts[0] ?? '');
    if (ip === null || ip.slice(1).some((o) => Number(o) > 255)) return { error: `port "${text}": "${parts[0] ?? ''}" is not an IPv4 address` };
    hostIp = parts[0];
  }
  return { value: { containerPort: container.value, protocol: proto, ...(hostPort ? { hostPort } : {}), ...(hostIp === undefined ? {} : { hostIp }) } };
}

/** `name:/path[:ro|rw]` or `/host:/path[:ro|rw]`. */
export function parseVolume(spec: string): Parsed<Mount> {
  const text = spec.trim();
  const parts = text.split(':');
  let readOnly = false;
  if (parts.length === 3) {
    const mode = parts.pop();
    if (mode !== 'ro' && mode !== 'rw') return { error: `volume "${text}": the mode must be ro or rw` };
    readOnly = mode === 'ro';
  }
  if (parts.length !== 2) return { error: `volume "${text}": write it as name:/path or /host/path:/path (add :ro for read-only)` };
  const [source = '', target = ''] = parts;
  if (!target.startsWith('/')) return { error: `volume "${text}": the container path must start with /` };
  if (source.startsWith('/')) return { value: { kind: 'bind', source, target, readOnly } };
  if (!NAME.test(source)) return { error: `volume "${text}": a volume name may hold only letters, digits and _ . - (a host folder starts with /)` };
  return { value: { kind: 'volume', source, target, readOnly } };
}

/** KEY=VALUE lines; blank lines and `#` comments are skipped. */
export function parseEnv(text: string): Parsed<{ name: string; value: string }[]> {
  const out: { name: string; value: string }[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line.trim() : line.slice(0, eq).trim();
    if (eq < 0) return { error: `line ${i + 1}: "${name}" needs a value: write ${name}=VALUE` };
    if (name === '' || /\s/.test(name)) return { error: `line ${i + 1}: "${name}" is not a variable name (no spaces, not empty)` };
    out.push({ name, value: line.slice(eq + 1) });
  }
  return { value: out };
}

const UNIT: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `512m`, `1g`, `1.5GB`, `256MiB`, plain bytes. */
export function parseMemory(text: string): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (m === null) return { error: `"${text.trim()}" is not a size: write e.g. 512m or 1g` };
  const bytes = Math.round(Number(m[1]) * (UNIT[(m[2] ?? '').toLowerCase()] ?? 1));
  if (bytes < MIN_MEMORY_BYTES) return { error: 'the memory limit must be at least 6m' };
  return { value: bytes };
}

export function parseCpus(text: string, hostCpus: number): Parsed<number> {
  const t = text.trim();
  if (!/^\d*\.?\d+$/.test(t) || !(Number(t) > 0)) return { error: `"${t}" is not a number of CPUs: write e.g. 0.5 or 2` };
  if (Number(t) > hostCpus) return { error: `at most ${hostCpus} (the engine's CPUs)` };
  return { value: Number(t) };
}

/** Splits a command line as a shell would (quotes and backslashes), without expanding anything. */
export function parseCommand(text: string): Parsed<string[]> {
  const args: string[] = [];
  let current = '';
  let started = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (quote !== undefined) return { error: `a ${quote} quote is not closed` };
  if (started) args.push(current);
  return { value: args };
}

function items(text: string, separators: RegExp): string[] {
  return text
    .split(separators)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Checks every field; answers all the errors at once, or the request to send. */
export function validateRunForm(form: RunForm, hostCpus: number): RunFormResult {
  const errors: RunFormErrors = {};
  const image = form.image.trim();
  if (image === '') errors.image = 'Enter an image, e.g. nginx:latest';
  else if (/\s/.test(image)) errors.image = 'An image reference has no spaces';
  const name = form.name.trim();
  if (name !== '' && !NAME.test(name)) errors.name = 'Letters, digits and _ . - only, starting with a letter or digit';
  const command = parseCommand(form.command);
  if ('error' in command) errors.command = command.error;
  const env = parseEnv(form.env);
  if ('error' in env) errors.env = env.error;

  const ports: Port[] = [];
  for (const spec of items(form.ports, /[\n,]/)) {
    const p = parsePort(spec);
    if ('error' in p) {
      errors.ports ??= p.error;
      continue;
    }
    ports.push(p.value);
  }
  const taken = new Set<string>();
  for (const p of ports) {
    if (p.hostPort === undefined) continue;
    const key = `${p.hostIp ?? ''}:${p.hostPort}/${p.protocol}`;
    if (taken.has(key)) errors.ports ??= `host port ${p.hostPort}/${p.protocol} is used twice`;
    taken.add(key);
  }
  const mounts: Mount[] = [];
  for (const spec of items(form.volumes, /\n/)) {
    const v = parseVolume(spec);
    if ('error' in v) {
      errors.volumes ??= v.error;
      continue;
    }
    if (mounts.some((m) => m.target === v.value.target)) errors.volumes ??= `two volumes are mounted at ${v.value.target}`;
    mounts.push(v.value);
  }
  let memoryBytes: number | undefined;
  if (form.memory.trim() !== '') {
    const m = parseMemory(form.memory);
    if ('error' in m) errors.memory = m.error;
    else memoryBytes = m.value;
  }
  let cpus: number | undefined;
  if (form.cpus.trim() !== '') {
    const c = parseCpus(form.cpus, hostCpus);
    if ('error' in c) errors.cpus = c.error;
    else cpus = c.value;
  }
  if (form.autoRemove && form.restartPolicy !== 'no') errors.restartPolicy = 'A container removed when it stops cannot restart: choose "no" or untick "Remove when stopped"';
  if (Object.keys(errors).length > 0) return { ok: false, errors };

  const network = form.network.trim();
  const request: RunRequest = {
    image,
    ...(name === '' ? {} : { name }),
    ...('value' in command && command.value.length > 0 ? { command: command.value } : {}),
    ...('value' in env && env.value.length > 0 ? { env: env.value } : {}),
    ...(ports.length > 0 ? { ports } : {}),
    ...(mounts.length > 0 ? { mounts } : {}),
    ...(network === '' ? {} : { network }),
    restartPolicy: form.restartPolicy,
    ...(memoryBytes === undefined ? {} : { memoryBytes }),
    ...(cpus === undefined ? {} : { cpus }),
    autoRemove: form.autoRemove,
  };
  return { ok: true, request };
}
