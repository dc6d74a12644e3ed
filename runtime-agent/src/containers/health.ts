import { invalid, messageOf } from '../errors.js';
import { log } from '../log.js';
import { emitContainerEvent, type ContainerContext } from './context.js';
import { runInContainer } from './exec/run.js';
import type { ContainerConfig, ContainerRecord, HealthState } from './model.js';

/** Docker's defaults (nanoseconds in the API): 30 s interval and timeout, no start period, 3 retries. */
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;
const KEEP_LOG = 5;

type Healthcheck = NonNullable<ContainerConfig['Healthcheck']>;

/** The probe command, or undefined when health checking is off (`NONE`, none configured). */
export function probeCommand(hc: Healthcheck | null | undefined): string[] | undefined {
  const test = hc?.Test;
  if (!test || test.length === 0) return undefined;
  const [kind, ...rest] = test;
  if (kind === 'NONE') return undefined;
  if (kind === 'CMD') return rest.length > 0 ? rest : undefined;
  if (kind === 'CMD-SHELL') return rest.length > 0 ? ['/bin/sh', '-c', rest.join(' ')] : undefined;
  return undefined;
}

/** Docker's checks on `--health-*` values. */
export function validateHealthcheck(hc: Healthcheck | null | undefined): void {
  if (!hc) return;
  const kind = hc.Test?.[0];
  if (hc.Test && hc.Test.length > 0 && kind !== 'NONE' && kind !== 'CMD' && kind !== 'CMD-SHELL') {
    throw invalid(`Healthcheck.Test must start with NONE, CMD or CMD-SHELL, got "${kind ?? ''}"`);
  }
  for (const key of ['Interval', 'Timeout', 'StartPeriod'] as const) {
    const v = hc[key];
    if (v !== undefined && v !== 0 && v < 1_000_000) throw invalid(`Interval in Healthcheck cannot be less than 1ms`.replace('Interval', key));
  }
  if (hc.Retries !== undefined && hc.Retries < 0) throw invalid('Retries in Healthcheck cannot be negative');
}

/**
 * Runs each running container's HEALTHCHECK on schedule and keeps `State.Health` (moby's
 * rules: failures during the start period do not count; `Retries` consecutive failures
 * make it unhealthy; one success makes it healthy) with `health_status` events.
 */
export class HealthMonitor {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly ctx: ContainerContext) {}

  /** Called after every start. */
  started(c: ContainerRecord): void {
    this.stopped(c);
    const cmd = probeCommand(c.Config.Healthcheck);
    if (!cmd) {
      delete c.State.Health;
      return;
    }
    c.State.Health = { Status: 'starting', FailingStreak: 0, Log: [] };
    const hc = c.Config.Healthcheck ?? {};
    const interval = hc.Interval ? hc.Interval / 1e6 : DEFAULT_INTERVAL_MS;
    const schedule = (): void => {
      const timer = setTimeout(() => {
        void this.probe(c, cmd).finally(() => {
          if (this.timers.get(c.Id) === timer) schedule();
        });
      }, interval);
      timer.unref();
      this.timers.set(c.Id, timer);
    };
    schedule();
  }

  /** Called when the container stops: no more probes. */
  stopped(c: ContainerRecord): void {
    const timer = this.timers.get(c.Id);
    if (timer) clearTimeout(timer);
    this.timers.delete(c.Id);
  }

  private async probe(c: ContainerRecord, cmd: string[]): Promise<void> {
    if (!c.State.Running || c.State.Paused) return;
    const hc = c.Config.Healthcheck ?? {};
    const timeout = hc.Timeout ? hc.Timeout / 1e6 : DEFAULT_TIMEOUT_MS;
    const retries = hc.Retries && hc.Retries > 0 ? hc.Retries : DEFAULT_RETRIES;
    const startPeriod = hc.StartPeriod ? hc.StartPeriod / 1e6 : 0;
    const start = new Date();
    let result;
    try {
      result = await runInContainer(this.ctx, c, cmd, timeout);
    } catch (err) {
      result = { exitCode: -1, output: messageOf(err) };
    }
    const state: HealthState | undefined = c.State.Health;
    if (!state || !this.timers.has(c.Id)) return; // stopped meanwhile
    state.Log.push({ Start: start.toISOString(), End: new Date().toISOString(), ExitCode: result.exitCode, Output: result.output });
    if (state.Log.length > KEEP_LOG) state.Log.splice(0, state.Log.length - KEEP_LOG);
    const before = state.Status;
    if (result.exitCode === 0) {
      state.FailingStreak = 0;
      state.Status = 'healthy';
    } else if (!(state.Status === 'starting' && Date.now() - Date.parse(c.State.StartedAt) < startPeriod)) {
      state.FailingStreak += 1;
      if (state.FailingStreak >= retries) state.Status = 'unhealthy';
    }
    if (state.Status !== before) {
      log.info('container.health', { id: c.Id.slice(0, 12), status: state.Status });
      emitContainerEvent(this.ctx, c, `health_status: ${state.Status}`);
    }
    await this.ctx.store.save(c);
  }
}
