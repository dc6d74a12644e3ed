import { constants } from 'node:os';
import { posix } from 'node:path';
import { invalid } from '../errors.js';
import { parseKeyValues, processWords } from './shell-words.js';
import type { ImageRuntimeConfig } from './types.js';

/**
 * `docker import --change` (and later `docker commit --change`): the Dockerfile
 * instructions that only edit the image config — CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
 * ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR, HEALTHCHECK. CMD/ENTRYPOINT take the JSON
 * form (`["sh","-c","x"]`) or the shell form (`x` → `["/bin/sh","-c","x"]`). As in a
 * Dockerfile, ENTRYPOINT clears a CMD not set by these same changes, and other instructions
 * expand `$VAR` from the ENV set so far. Anything else is Docker's 400
 * `<instruction> is not a valid change command`.
 */
export function applyChanges(base: ImageRuntimeConfig, changes: readonly string[]): ImageRuntimeConfig {
  const config: ImageRuntimeConfig = structuredClone(base);
  let cmdSet = false;
  for (const change of changes) {
    const line = change.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line) as RegExpExecArray;
    const instruction = (m[1] as string).toLowerCase();
    const args = (m[2] as string).trim();
    const env = envMap(config.Env);
    switch (instruction) {
      case 'cmd':
        config.Cmd = command(args, config.Shell);
        cmdSet = true;
        break;
      case 'entrypoint':
        config.Entrypoint = args === '' ? null : command(args, config.Shell);
        if (!cmdSet) config.Cmd = null;
        break;
      case 'env':
        for (const [key, value] of parseKeyValues(args, env, 'ENV')) setEnv(config, key, value);
        break;
      case 'label':
        config.Labels = { ...(config.Labels ?? {}), ...Object.fromEntries(parseKeyValues(args, env, 'LABEL')) };
        break;
      case 'expose':
        config.ExposedPorts = { ...(config.ExposedPorts ?? {}), ...Object.fromEntries(processWords(args, env).flatMap(ports).map((p) => [p, {}])) };
        break;
      case 'volume': {
        const paths = jsonArray(args) ?? processWords(args, env);
        if (paths.length === 0 || paths.some((p) => p.trim() === '')) throw invalid('VOLUME specified can not be an empty string');
        config.Volumes = { ...(config.Volumes ?? {}), ...Object.fromEntries(paths.map((p) => [p, {}])) };
        break;
      }
      case 'user':
        config.User = one('USER', processWords(args, env));
        break;
      case 'workdir': {
        const dir = one('WORKDIR', processWords(args, env, false));
        config.WorkingDir = posix.isAbsolute(dir) ? posix.normalize(dir) : posix.join('/', config.WorkingDir ?? '', dir);
        break;
      }
      case 'stopsignal':
        config.StopSignal = signal(one('STOPSIGNAL', processWords(args, env)));
        break;
      case 'onbuild': {
        const inner = /^(\S+)/.exec(args)?.[1]?.toUpperCase();
        if (inner === undefined) throw invalid('ONBUILD requires at least one argument');
        if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(inner)) throw invalid(`${inner} isn't allowed as an ONBUILD trigger`);
        config.OnBuild = [...(config.OnBuild ?? []), `${inner}${args.slice(inner.length)}`];
        break;
      }
      case 'healthcheck':
        config.Healthcheck = healthcheck(args);
        break;
      default:
        throw invalid(`${instruction} is not a valid change command`);
    }
  }
  return config;
}

function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) map.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return map;
}

function setEnv(config: ImageRuntimeConfig, key: string, value: string): void {
  const env = (config.Env ?? []).filter((e) => !e.startsWith(`${key}=`));
  env.push(`${key}=${value}`);
  config.Env = env;
}

/** The JSON form of an instruction, if `args` is one (a JSON array of strings). */
function jsonArray(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed as string[];
  } catch {
    // not JSON: Docker then takes the text as the shell form
  }
  return undefined;
}

function command(args: string, shell: readonly string[] | null | undefined): string[] {
  return jsonArray(args) ?? [...(shell && shell.length > 0 ? shell : ['/bin/sh', '-c']), args];
}

function one(instruction: string, words: string[]): string {
  if (words.length !== 1 || words[0] === '') throw invalid(`${instruction} requires exactly one argument`);
  return words[0] as string;
}

/** `80`, `80/udp`, `8000-8002/tcp` → `80/tcp`... */
function ports(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(\w+))?$/.exec(spec);
  if (!m) throw invalid(`invalid containerPort: ${spec}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw invalid(`invalid proto: ${proto}`);
  const first = Number(m[1]);
  const last = m[2] !== undefined ? Number(m[2]) : first;
  if (first < 1 || last > 65535 || last < first) throw invalid(`invalid containerPort: ${spec}`);
  return Array.from({ length: last - first + 1 }, (_, i) => `${first + i}/${proto}`);
}

function signal(value: string): string {
  if (/^\d+$/.test(value) && Number(value) > 0 && Number(value) < 65) return value;
  const name = value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
  if (name in constants.signals) return value;
  throw invalid(`Invalid signal: ${value}`);
}

function healthcheck(args: string): NonNullable<ImageRuntimeConfig['Healthcheck']> {
  if (/^none$/i.test(args)) return { Test: ['NONE'] };
  const check: NonNullable<ImageRuntimeConfig['Healthcheck']> = {};
  let rest = args;
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (!m) break;
    const [flag, value] = [m[1] as string, m[2] as string];
    if (flag === 'retries') check.Retries = Number(value);
    else if (flag === 'interval') check.Interval = duration(value);
    else if (flag === 'timeout') check.Timeout = duration(value);
    else if (flag === 'start-period') check.StartPeriod = duration(value);
    else if (flag === 'start-interval') check.StartInterval = duration(value);
    else throw invalid(`Unknown flag: ${flag}`);
    rest = rest.slice(m[0].length);
  }
  const cmd = /^cmd\s+([\s\S]+)$/i.exec(rest);
  if (!cmd) throw invalid('Unknown type "' + (rest.split(/\s/)[0] ?? '') + '" in HEALTHCHECK (try CMD)');
  const json = jsonArray(cmd[1] as string);
  check.Test = json ? ['CMD', ...json] : ['CMD-SHELL', cmd[1] as string];
  return check;
}

/** A Go duration (`30s`, `1m30s`) in nanoseconds. */
function duration(value: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) throw invalid(`time: invalid duration "${value}"`);
  let ns = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ns += Number(m[1]) * (units[m[2] as string] ?? 0);
  return Math.round(ns);
}
