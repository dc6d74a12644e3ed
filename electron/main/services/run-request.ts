import type Dockerode from 'dockerode';
import type { RestartPolicy, RunRequest } from '../../shared/bridge.js';
import { InvalidArgument } from '../transport/errors.js';
import { bool, integer, list, oneOf, record, text } from '../transport/validate.js';

const RESTART: readonly RestartPolicy[] = ['no', 'always', 'unless-stopped', 'on-failure'];
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const ENV_NAME = /^[^=\s]+$/;
/** Docker's own floor for --memory. */
const MIN_MEMORY = 6 * 1024 * 1024;

/**
 * Checks a Run dialog request (the renderer validates too; this is the gate) and turns it into
 * dockerode's create options. Every refusal says which field to fix.
 */
export function parseRunRequest(value: unknown, hostCpus: number): RunRequest {
  const r = record(value, 'run request');
  const image = text(r['image'], 'image', { max: 512 }).trim();
  if (/\s/.test(image)) throw new InvalidArgument(`image "${image}" must not contain spaces`);
  const name = text(r['name'], 'name', { optional: true, max: 128 });
  if (name !== undefined && !NAME.test(name)) throw new InvalidArgument(`name "${name}" may hold only letters, digits and _ . - and must start with a letter or digit`);
  const command = list(r['command'], 'command', 256).map((a, i) => text(a, `command argument ${i + 1}`, { allowEmpty: true }));
  const env = list(r['env'], 'env', 512).map((e, i) => {
    const entry = record(e, `env ${i + 1}`);
    const key = text(entry['name'], `env ${i + 1} name`, { max: 256 });
    if (!ENV_NAME.test(key)) throw new InvalidArgument(`env name "${key}" must not contain = or spaces`);
    return { name: key, value: text(entry['value'], `env ${key}`, { allowEmpty: true, max: 65536 }) };
  });
  const ports = list(r['ports'], 'ports', 256).map((p, i) => {
    const entry = record(p, `port ${i + 1}`);
    const containerPort = integer(entry['containerPort'], `port ${i + 1} container port`, 1, 65535);
    const hostPort = entry['hostPort'] === undefined || entry['hostPort'] === null ? 0 : integer(entry['hostPort'], `port ${i + 1} host port`, 0, 65535);
    const hostIp = text(entry['hostIp'], `port ${i + 1} host address`, { optional: true, max: 64 });
    if (hostIp !== undefined && !/^[0-9.]+$|^[0-9a-fA-F:]+$/.test(hostIp)) throw new InvalidArgument(`port ${i + 1} host address "${hostIp}" is not an IP address`);
    return { containerPort, hostPort, protocol: oneOf(entry['protocol'] ?? 'tcp', `port ${i + 1} protocol`, ['tcp', 'udp'] as const), ...(hostIp ? { hostIp } : {}) };
  });
  const mounts = list(r['mounts'], 'mounts', 128).map((m, i) => {
    const entry = record(m, `volume ${i + 1}`);
    const kind = oneOf(entry['kind'], `volume ${i + 1} kind`, ['volume', 'bind'] as const);
    const source = text(entry['source'], `volume ${i + 1} source`, {});
    const target = text(entry['target'], `volume ${i + 1} container path`, {});
    if (!target.startsWith('/')) throw new InvalidArgument(`volume ${i + 1} container path "${target}" must be absolute`);
    if (kind === 'bind' && !source.startsWith('/')) throw new InvalidArgument(`bind ${i + 1} host path "${source}" must be absolute`);
    if (kind === 'volume' && !NAME.test(source)) throw new InvalidArgument(`volume name "${source}" may hold only letters, digits and _ . -`);
    return { kind, source, target, readOnly: bool(entry['readOnly'], `volume ${i + 1} read-only`, false) };
  });
  const targets = new Set<string>();
  for (const m of mounts) {
    if (targets.has(m.target)) throw new InvalidArgument(`two volumes are mounted at ${m.target}`);
    targets.add(m.target);
  }
  const network = text(r['network'], 'network', { optional: true, max: 256 });
  const restartPolicy = r['restartPolicy'] === undefined ? 'no' : oneOf(r['restartPolicy'], 'restart policy', RESTART);
  let memoryBytes: number | undefined;
  if (r['memoryBytes'] !== undefined && r['memoryBytes'] !== null && r['memoryBytes'] !== 0) {
    memoryBytes = integer(r['memoryBytes'], 'memory limit', MIN_MEMORY, Number.MAX_SAFE_INTEGER);
  }
  let cpus: number | undefined;
  if (r['cpus'] !== undefined && r['cpus'] !== null && r['cpus'] !== 0) {
    const c = r['cpus'];
    if (typeof c !== 'number' || !(c > 0) || c > hostCpus) throw new InvalidArgument(`CPUs must be more than 0 and at most ${hostCpus} (the engine's CPUs)`);
    cpus = c;
  }
  const autoRemove = bool(r['autoRemove'], 'remove when stopped', false);
  if (autoRemove && restartPolicy !== 'no') throw new InvalidArgument('a container removed when it stops cannot have a restart policy');
  return {
    image,
    ...(name === undefined ? {} : { name }),
    command,
    env,
    ports,
    mounts,
    ...(network === undefined ? {} : { network }),
    restartPolicy,
    ...(memoryBytes === undefined ? {} : { memoryBytes }),
    ...(cpus === undefined ? {} : { cpus }),
    autoRemove,
    tty: bool(r['tty'], 'tty', false),
  };
}

export function toCreateOptions(run: RunRequest): Dockerode.ContainerCreateOptions {
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, { HostPort: string; HostIp?: string }[]> = {};
  for (const p of run.ports ?? []) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostPort: p.hostPort ? String(p.hostPort) : '', ...(p.hostIp ? { HostIp: p.hostIp } : {}) });
  }
  return {
    Image: run.image,
    ...(run.name === undefined ? {} : { name: run.name }),
    ...(run.command !== undefined && run.command.length > 0 ? { Cmd: [...run.command] } : {}),
    Env: (run.env ?? []).map((e) => `${e.name}=${e.value}`),
    ExposedPorts: exposed,
    Tty: run.tty === true,
    OpenStdin: run.tty === true,
    HostConfig: {
      PortBindings: bindings,
      Mounts: (run.mounts ?? []).map((m) => ({ Type: m.kind, Source: m.source, Target: m.target, ReadOnly: m.readOnly === true })),
      RestartPolicy: { Name: run.restartPolicy ?? 'no' },
      AutoRemove: run.autoRemove === true,
      ...(run.memoryBytes === undefined ? {} : { Memory: run.memoryBytes }),
      ...(run.cpus === undefined ? {} : { NanoCpus: Math.round(run.cpus * 1e9) }),
      ...(run.network === undefined ? {} : { NetworkMode: run.network }),
    },
  };
}
