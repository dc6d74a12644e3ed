import type Dockerode from 'dockerode';
import type { ContainerDetail, ContainerMount, ContainerState, ContainerSummary, JsonValue, PortMapping, RestartPolicy } from '../../shared/bridge.js';

const STATES = new Set<ContainerState>(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead']);

function state(value: string | undefined): ContainerState {
  return STATES.has(value as ContainerState) ? (value as ContainerState) : 'dead';
}

function protocol(value: string | undefined): PortMapping['protocol'] {
  return value === 'udp' || value === 'sctp' ? value : 'tcp';
}

/** `GET /containers/json` entries in the bridge's shape. */
export function toContainerSummary(c: Dockerode.ContainerInfo): ContainerSummary {
  const labels = c.Labels ?? {};
  const ports: PortMapping[] = (c.Ports ?? []).map((p) => ({
    containerPort: p.PrivatePort,
    protocol: protocol(p.Type),
    ...(p.PublicPort ? { hostPort: p.PublicPort } : {}),
    ...(p.IP ? { hostIp: p.IP } : {}),
  }));
  const mounts: ContainerMount[] = (c.Mounts ?? []).map((m) => ({
    type: m.Type,
    ...(m.Name ? { name: m.Name } : {}),
    source: m.Source,
    destination: m.Destination,
    readOnly: m.RW === false,
  }));
  const project = labels['com.docker.compose.project'];
  return {
    id: c.Id,
    name: (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''),
    image: c.Image,
    imageId: c.ImageID,
    command: c.Command,
    state: state(c.State),
    status: c.Status,
    createdAt: new Date(c.Created * 1000).toISOString(),
    ports,
    labels,
    ...(project === undefined ? {} : { composeProject: project }),
    networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
    mounts,
  };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** `GET /containers/{id}/json` in the bridge's shape, keeping the whole answer for Inspect. */
export function toContainerDetail(i: Dockerode.ContainerInspectInfo): ContainerDetail {
  const labels = i.Config.Labels ?? {};
  const ports: PortMapping[] = [];
  for (const [spec, bindings] of Object.entries(i.NetworkSettings.Ports ?? {})) {
    const [port, proto] = spec.split('/');
    const containerPort = Number(port);
    if (!Number.isInteger(containerPort)) continue;
    if (bindings === null || bindings.length === 0) ports.push({ containerPort, protocol: protocol(proto) });
    else for (const b of bindings) ports.push({ containerPort, protocol: protocol(proto), hostPort: Number(b.HostPort), ...(b.HostIp ? { hostIp: b.HostIp } : {}) });
  }
  const project = labels['com.docker.compose.project'];
  const policy = i.HostConfig.RestartPolicy?.Name;
  const restartPolicy: RestartPolicy = policy === 'always' || policy === 'unless-stopped' || policy === 'on-failure' ? policy : 'no';
  return {
    id: i.Id,
    name: i.Name.replace(/^\//, ''),
    image: i.Config.Image,
    imageId: i.Image,
    command: [i.Path, ...i.Args].join(' '),
    state: state(i.State.Status),
    status: i.State.Status,
    createdAt: i.Created,
    ports,
    labels,
    ...(project === undefined ? {} : { composeProject: project }),
    networks: Object.keys(i.NetworkSettings.Networks ?? {}),
    mounts: (i.Mounts ?? []).map((m) => ({
      type: m.Type,
      ...(m.Name ? { name: m.Name } : {}),
      source: m.Source,
      destination: m.Destination,
      readOnly: m.RW === false,
    })),
    ...(i.State.StartedAt && i.State.StartedAt !== ZERO_TIME ? { startedAt: i.State.StartedAt } : {}),
    ...(i.State.FinishedAt && i.State.FinishedAt !== ZERO_TIME ? { finishedAt: i.State.FinishedAt } : {}),
    ...(i.State.Status === 'exited' ? { exitCode: i.State.ExitCode } : {}),
    tty: i.Config.Tty,
    memoryLimitBytes: i.HostConfig.Memory ?? 0,
    restartPolicy,
    inspect: i as unknown as JsonValue,
  };
}
