/**
 * `POST /containers/{id}/update` (`docker update`): new resource limits and restart policy
 * for an existing container, as moby's `daemon/update.go` and `Container.UpdateContainer`:
 *
 *   1. the request alone is validated as at create (400);
 *   2. it is merged into the container's HostConfig: a zero / empty / absent field keeps the
 *      current value; NanoCpus and CpuPeriod/CpuQuota cannot replace one another; a memory
 *      limit above the current memory+swap limit needs a new swap limit too (409);
 *   3. the merged whole is validated again (400), applied to the running (or paused)
 *      container's cgroup — the full desired state, so unchanged limits stay — and persisted;
 *      a stopped or restarting container gets it at its next start;
 *   4. an `update` event; the answer is `{"Warnings": [...]}`.
 *
 * A limit the kernel refuses (memory below what the container uses now: EBUSY) leaves the
 * container as it was and answers 409 with the reason, not 500.
 */
import { conflict, invalid, systemError, type BerthError } from '../errors.js';
import { log } from '../log.js';
import type { CgroupLimits } from '../cgroups/cgroup.js';
import { writeErrno } from '../cgroups/dir.js';
import { cgroupPath, emitContainerEvent, type ContainerContext } from './context.js';
import { limitsFromHostConfig } from './limits.js';
import type { ContainerRecord, HostConfig, RestartPolicy } from './model.js';

const INTEGER_FIELDS = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota'] as const;
const STRING_FIELDS = ['CpusetCpus', 'CpusetMems'] as const;
/** Resources `docker update` can send that berthd does not apply: a non-zero value gets a warning. */
const IGNORED_FIELDS = ['BlkioWeight', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'KernelMemory'] as const;
const POLICIES = ['no', 'always', 'unless-stopped', 'on-failure'] as const;

/** The body of the request (moby's `container.UpdateConfig`): Resources plus RestartPolicy. */
export type UpdateRequest = Pick<
  HostConfig,
  'Memory' | 'MemorySwap' | 'MemoryReservation' | 'NanoCpus' | 'CpuShares' | 'CpuPeriod' | 'CpuQuota' | 'CpusetCpus' | 'CpusetMems' | 'PidsLimit' | 'RestartPolicy'
>;

const cannotUpdate = (c: ContainerRecord, why: string): BerthError => conflict(`Cannot update container ${c.Id}: ${why}`);

/** Applies an update; returns the warnings for the answer. */
export async function updateContainer(ctx: ContainerContext, c: ContainerRecord, body: unknown): Promise<string[]> {
  const { req, warnings } = parseRequest(body);
  if (c.State.Status === 'removing' || c.State.Dead) throw cannotUpdate(c, 'container is marked for removal and cannot be "update"');
  if (req.RestartPolicy) validateRestartPolicy(req.RestartPolicy);
  // moby's verifyContainerSettings on the request: a swap limit alone is fine in an update.
  limitsFromHostConfig({ ...req, MemorySwap: (req.Memory ?? 0) > 0 ? req.MemorySwap : undefined });

  const next = merge(c, req);
  const limits = limitsFromHostConfig(next);
  const previous = limitsFromHostConfig(c.HostConfig);
  if (ctx.tasks.has(c.Id) && JSON.stringify(limits) !== JSON.stringify(previous)) {
    await applyLimits(ctx, c, limits, previous);
  }
  c.HostConfig = next;
  await ctx.store.save(c);
  log.info('container.update', { id: c.Id.slice(0, 12), restart: req.RestartPolicy?.Name || undefined });
  emitContainerEvent(ctx, c, 'update');
  return warnings;
}

function parseRequest(body: unknown): { req: UpdateRequest; warnings: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the request body must be a JSON object');
  const raw = body as Record<string, unknown>;
  const req: UpdateRequest = {};
  for (const key of INTEGER_FIELDS) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid(`invalid ${key}: ${JSON.stringify(value)} is not an integer`);
    req[key] = value;
  }
  for (const key of STRING_FIELDS) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw invalid(`invalid ${key}: ${JSON.stringify(value)} is not a string`);
    req[key] = value;
  }
  const pids = raw.PidsLimit;
  if (pids !== undefined && pids !== null) {
    if (typeof pids !== 'number' || !Number.isSafeInteger(pids)) throw invalid(`invalid PidsLimit: ${JSON.stringify(pids)} is not an integer`);
    req.PidsLimit = pids;
  }
  const policy = raw.RestartPolicy;
  if (policy !== undefined && policy !== null) {
    if (typeof policy !== 'object' || Array.isArray(policy)) throw invalid('invalid RestartPolicy: must be an object');
    const { Name, MaximumRetryCount } = policy as Record<string, unknown>;
    if ((Name !== undefined && typeof Name !== 'string') || (MaximumRetryCount !== undefined && typeof MaximumRetryCount !== 'number')) {
      throw invalid('invalid RestartPolicy: Name must be a string and MaximumRetryCount a number');
    }
    // An empty name leaves the policy as it is (moby).
    if (Name) req.RestartPolicy = { Name: Name as RestartPolicy['Name'], MaximumRetryCount: MaximumRetryCount ?? 0 };
  }
  const warnings = IGNORED_FIELDS.filter((key) => typeof raw[key] === 'number' && raw[key] !== 0).map(
    (key) => `berthd does not support ${key}; it was ignored`,
  );
  return { req, warnings };
}

/** moby's `container.ValidateRestartPolicy`, with its messages. */
function validateRestartPolicy(policy: RestartPolicy): void {
  const name = policy.Name ?? '';
  const count = policy.MaximumRetryCount ?? 0;
  if (!Number.isSafeInteger(count)) throw invalid('invalid restart policy: maximum retry count must be an integer');
  if (name === 'on-failure') {
    if (count < 0) throw invalid('invalid restart policy: maximum retry count cannot be negative');
    return;
  }
  if (!(POLICIES as readonly string[]).includes(name)) {
    throw invalid(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (count !== 0) {
    throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'${count < 0 ? ' and cannot be negative' : ''}`);
  }
}

/** moby's `Container.UpdateContainer`: the request merged into the current HostConfig. */
function merge(c: ContainerRecord, req: UpdateRequest): HostConfig {
  const cur = c.HostConfig;
  const set = (n: number | undefined): n is number => n !== undefined && n !== 0;
  if ((req.NanoCpus ?? 0) > 0 && (cur.CpuPeriod ?? 0) > 0) throw cannotUpdate(c, 'Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if ((req.NanoCpus ?? 0) > 0 && (cur.CpuQuota ?? 0) > 0) throw cannotUpdate(c, 'Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if ((req.CpuPeriod ?? 0) > 0 && (cur.NanoCpus ?? 0) > 0) throw cannotUpdate(c, 'Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if ((req.CpuQuota ?? 0) > 0 && (cur.NanoCpus ?? 0) > 0) throw cannotUpdate(c, 'Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');

  const next: HostConfig = { ...cur };
  // moby records the default swap limit (twice the memory) at create; berthd leaves it implicit.
  if ((cur.Memory ?? 0) > 0 && (cur.MemorySwap ?? 0) === 0) next.MemorySwap = (cur.Memory ?? 0) * 2;
  if (set(req.CpuShares)) next.CpuShares = req.CpuShares;
  if (set(req.NanoCpus)) next.NanoCpus = req.NanoCpus;
  if (set(req.CpuPeriod)) next.CpuPeriod = req.CpuPeriod;
  if (set(req.CpuQuota)) next.CpuQuota = req.CpuQuota;
  if (req.CpusetCpus) next.CpusetCpus = req.CpusetCpus;
  if (req.CpusetMems) next.CpusetMems = req.CpusetMems;
  if (set(req.Memory)) {
    if (req.Memory > (next.MemorySwap ?? 0) && !set(req.MemorySwap)) {
      throw cannotUpdate(c, 'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    next.Memory = req.Memory;
  }
  if (set(req.MemorySwap)) next.MemorySwap = req.MemorySwap;
  if (set(req.MemoryReservation)) next.MemoryReservation = req.MemoryReservation;
  if (req.PidsLimit !== undefined) next.PidsLimit = req.PidsLimit;
  if (req.RestartPolicy) {
    if (cur.AutoRemove && req.RestartPolicy.Name !== 'no') {
      throw cannotUpdate(c, 'Restart policy cannot be updated because AutoRemove is enabled for the container');
    }
    next.RestartPolicy = req.RestartPolicy;
  }
  return next;
}

/** Writes the new limits to the live cgroup; on refusal puts the old ones back and explains. */
async function applyLimits(ctx: ContainerContext, c: ContainerRecord, limits: CgroupLimits, previous: CgroupLimits): Promise<void> {
  const group = ctx.cgroups.open(cgroupPath(ctx, c.Id));
  try {
    await group.update(limits);
  } catch (err) {
    await group.update(previous).catch((restoreErr: unknown) => log.warn('container.update-restore-failed', { id: c.Id.slice(0, 12), error: String(restoreErr) }));
    const errno = writeErrno(err);
    if (errno === 'EBUSY') {
      throw cannotUpdate(c, `the kernel refused the new memory limit: the container uses more memory than ${describeBytes(limits)} now (EBUSY); raise the limit or free memory in the container first`);
    }
    if (errno === 'EINVAL' || errno === 'ERANGE') {
      throw cannotUpdate(c, `the kernel refused the new limits (${errno}): ${err instanceof Error ? err.message : String(err)}`);
    }
    throw systemError(`Cannot update container ${c.Id}: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

function describeBytes(limits: CgroupLimits): string {
  const bytes = limits.memory ?? 0;
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)}MiB` : `${bytes} bytes`;
}
