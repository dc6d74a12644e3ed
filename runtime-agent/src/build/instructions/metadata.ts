import { posix } from 'node:path';
import { parseSignal } from '../../containers/signals.js';
import { invalid } from '../../errors.js';
import type { ImageRuntimeConfig } from '../../images/types.js';
import { parseGoDuration } from '../dockerfile/duration.js';
import type { Instruction } from '../dockerfile/types.js';
import { expanderFor } from '../expansion.js';
import { commitMetadata, type StepContext } from '../step.js';

/**
 * The instructions that only change the image config (moby's dispatchers.go): each edits the
 * stage's config, then commits a layer-less image whose history says what it did, as the
 * classic builder records it (`/bin/sh -c #(nop)  ENV a=b`). Expansion uses the stage's ENV
 * and the args in scope; CMD, ENTRYPOINT, SHELL, ONBUILD and MAINTAINER are not expanded.
 */
export async function dispatchMetadata(ctx: StepContext, instruction: Instruction): Promise<void> {
  const config = ctx.state.config;
  const expand = expanderFor(ctx.state.expansionEnv(), ctx.escape);
  switch (instruction.keyword) {
    case 'ENV': {
      const pairs = expand.keyValues(instruction.args);
      const env = [...(config.Env ?? [])];
      for (const [key, value] of pairs) {
        const at = env.findIndex((e) => e.split('=', 1)[0] === key);
        if (at >= 0) env[at] = `${key}=${value}`;
        else env.push(`${key}=${value}`);
      }
      config.Env = env;
      return commitMetadata(ctx, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'LABEL': {
      const pairs = expand.keyValues(instruction.args);
      config.Labels = { ...(config.Labels ?? {}), ...Object.fromEntries(pairs) };
      return commitMetadata(ctx, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'MAINTAINER':
      ctx.state.author = instruction.args[0] ?? '';
      return commitMetadata(ctx, `MAINTAINER ${ctx.state.author}`);
    case 'EXPOSE': {
      const ports = instruction.args.flatMap((a) => expand.words(a));
      config.ExposedPorts = { ...(config.ExposedPorts ?? {}), ...Object.fromEntries(ports.flatMap(portKeys).map((p) => [p, {}])) };
      return commitMetadata(ctx, `EXPOSE ${ports.join(' ')}`);
    }
    case 'VOLUME': {
      const paths = instruction.json ? instruction.args.map((a) => expand.word(a)) : expand.words(instruction.args[0] ?? '');
      if (paths.length === 0 || paths.some((p) => p.trim() === '')) throw invalid('VOLUME specified can not be an empty string');
      config.Volumes = { ...(config.Volumes ?? {}), ...Object.fromEntries(paths.map((p) => [p, {}])) };
      return commitMetadata(ctx, `VOLUME [${paths.join(' ')}]`);
    }
    case 'USER':
      config.User = expand.word(instruction.args[0] ?? '');
      return commitMetadata(ctx, `USER ${config.User}`);
    case 'STOPSIGNAL': {
      const signal = expand.word(instruction.args[0] ?? '');
      parseSignal(signal);
      config.StopSignal = signal;
      return commitMetadata(ctx, `STOPSIGNAL ${signal}`);
    }
    case 'CMD': {
      const cmd = commandOf(ctx, instruction);
      config.Cmd = cmd;
      if (instruction.args.length > 0) ctx.state.cmdSet = true;
      return commitMetadata(ctx, `CMD ${goQuoted(cmd)}`);
    }
    case 'ENTRYPOINT': {
      const entrypoint = commandOf(ctx, instruction);
      config.Entrypoint = entrypoint;
      if (!ctx.state.cmdSet) config.Cmd = null;
      return commitMetadata(ctx, `ENTRYPOINT ${goQuoted(entrypoint)}`);
    }
    case 'SHELL':
      config.Shell = [...instruction.args];
      return commitMetadata(ctx, `SHELL [${instruction.args.join(' ')}]`);
    case 'ONBUILD':
      config.OnBuild = [...(config.OnBuild ?? []), instruction.args[0] ?? ''];
      return commitMetadata(ctx, `ONBUILD ${instruction.args[0] ?? ''}`);
    case 'HEALTHCHECK': {
      const previous = config.Healthcheck?.Test;
      if (previous !== undefined && previous.length > 0 && previous[0] !== 'NONE') {
        ctx.out.line(`Note: overriding previous HEALTHCHECK: [${previous.join(' ')}]`);
      }
      config.Healthcheck = healthcheckOf(instruction);
      return commitMetadata(ctx, `HEALTHCHECK ${goHealthcheck(config.Healthcheck)}`);
    }
    case 'ARG': {
      const declared: string[] = [];
      for (const word of instruction.args) {
        const { key, value } = expand.arg(word);
        ctx.state.args.declare(key, value);
        declared.push(value === undefined ? key : `${key}=${value}`);
      }
      return commitMetadata(ctx, `ARG ${declared.join(' ')}`);
    }
    default:
      throw invalid(`${instruction.keyword} is not a metadata instruction`);
  }
}

/** CMD / ENTRYPOINT: the JSON array as written, or the shell form run by the stage's SHELL. */
function commandOf(ctx: StepContext, instruction: Instruction): string[] {
  if (instruction.json) return [...instruction.args];
  return [...ctx.state.shell, instruction.args[0] ?? ''];
}

function healthcheckOf(instruction: Instruction): NonNullable<ImageRuntimeConfig['Healthcheck']> {
  const inner = instruction.inner;
  if (inner === undefined) return { Test: ['NONE'] };
  const test = inner.json ? ['CMD', ...inner.args] : ['CMD-SHELL', inner.args[0] ?? ''];
  const flags = instruction.flags;
  const duration = (name: string): number => {
    const text = flags[name];
    return text === undefined || text === '' ? 0 : (parseGoDuration(text) ?? 0);
  };
  const retries = flags.retries !== undefined && flags.retries !== '' ? Number(flags.retries) : 0;
  if (!Number.isInteger(retries) || retries < 0) throw invalid(`--retries must be a whole number, at least 0 (got "${flags.retries ?? ''}")`);
  return {
    Test: test,
    Interval: duration('interval'),
    Timeout: duration('timeout'),
    StartPeriod: duration('start-period'),
    StartInterval: duration('start-interval'),
    Retries: retries,
  };
}

/** `80`, `80/udp`, `8000-8002/tcp` -> Docker's port keys (`80/tcp`...). */
function portKeys(spec: string): string[] {
  const m = /^(?:.*:)?(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw invalid(`invalid containerPort: ${spec}`);
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : start;
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (start < 1 || end > 65535 || end < start) throw invalid(`invalid containerPort: ${spec}`);
  return Array.from({ length: end - start + 1 }, (_, i) => `${start + i}/${proto}`);
}

/** Go's `%q` of a string slice: `["a" "b c"]`. */
function goQuoted(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
}

/** Go's `%+v` of a *HealthConfig, as the classic builder writes HEALTHCHECK into history. */
function goHealthcheck(h: NonNullable<ImageRuntimeConfig['Healthcheck']>): string {
  const d = (ns: number | undefined): string => goDuration(ns ?? 0);
  return `&{Test:[${(h.Test ?? []).join(' ')}] Interval:${d(h.Interval)} Timeout:${d(h.Timeout)} StartPeriod:${d(h.StartPeriod)} StartInterval:${d(h.StartInterval)} Retries:${h.Retries ?? 0}}`;
}

function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const s = ns / 1e9;
  if (s < 1) return `${ns / 1e6}ms`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = Number((s % 60).toFixed(9));
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${rest}s`;
}

/** WORKDIR's path: relative ones join the current working directory (moby's normalizeWorkdir). */
export function normalizeWorkdir(current: string, requested: string): string {
  if (requested === '') throw invalid('cannot normalize nothing');
  const joined = posix.isAbsolute(requested) ? requested : posix.join('/', current === '' ? '/' : current, requested);
  return posix.normalize(joined);
}
