import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ConnectionTarget, Settings, StatsInterval, Theme } from '../../shared/bridge.js';
import { InvalidArgument } from '../transport/errors.js';

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  connection: { kind: 'local' },
  statsIntervalMs: 1000,
  vm: null,
};

const THEMES: readonly Theme[] = ['light', 'dark', 'system'];
const INTERVALS: readonly StatsInterval[] = [1000, 2000, 5000];

/**
 * The app's settings, one JSON file (`~/.berth/settings.json`, mode 0600). A file that does
 * not parse is kept aside (`settings.json.bad`), never silently overwritten.
 */
export class SettingsStore {
  #settings: Settings = DEFAULT_SETTINGS;
  readonly #listeners = new Set<(settings: Settings) => void>();

  constructor(readonly path: string | undefined) {}

  get current(): Settings {
    return this.#settings;
  }

  async load(): Promise<Settings> {
    if (this.path === undefined) return this.#settings;
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch {
      return this.#settings;
    }
    try {
      this.#settings = parseSettings(JSON.parse(raw) as unknown);
    } catch {
      await rename(this.path, `${this.path}.bad`).catch(() => undefined);
    }
    return this.#settings;
  }

  onChange(listener: (settings: Settings) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async update(change: Partial<Settings>): Promise<Settings> {
    const next = parseSettings({ ...this.#settings, ...change });
    this.#settings = next;
    if (this.path !== undefined) {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, this.path);
    }
    for (const listener of this.#listeners) listener(next);
    return next;
  }
}

export function parseConnectionTarget(value: unknown): ConnectionTarget {
  if (value === null || typeof value !== 'object') throw new InvalidArgument('connection must be an object');
  const v = value as Record<string, unknown>;
  const path = (key: string): string => {
    const p = v[key];
    if (typeof p !== 'string' || !p.startsWith('/')) throw new InvalidArgument(`${key} must be an absolute path`);
    return p;
  };
  switch (v['kind']) {
    case 'local':
      return v['socketPath'] === undefined ? { kind: 'local' } : { kind: 'local', socketPath: path('socketPath') };
    case 'socket':
      return { kind: 'socket', socketPath: path('socketPath') };
    case 'ssh': {
      const host = v['host'];
      const username = v['username'];
      if (typeof host !== 'string' || !/^[A-Za-z0-9.:[\]-]+$/.test(host)) throw new InvalidArgument('host must be a host name or address');
      if (typeof username !== 'string' || !/^[A-Za-z0-9._-]+$/.test(username)) throw new InvalidArgument('username must be a user name');
      const port = v['port'];
      if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
        throw new InvalidArgument('port must be between 1 and 65535');
      }
      return {
        kind: 'ssh',
        host,
        username,
        ...(port === undefined ? {} : { port }),
        ...(v['privateKeyPath'] === undefined ? {} : { privateKeyPath: path('privateKeyPath') }),
        ...(v['knownHostsPath'] === undefined ? {} : { knownHostsPath: path('knownHostsPath') }),
      };
    }
    default:
      throw new InvalidArgument('connection kind must be local, socket or ssh');
  }
}

export function parseSettings(value: unknown): Settings {
  if (value === null || typeof value !== 'object') throw new InvalidArgument('settings must be an object');
  const v = value as Record<string, unknown>;
  const theme = v['theme'] ?? DEFAULT_SETTINGS.theme;
  if (!THEMES.includes(theme as Theme)) throw new InvalidArgument('theme must be light, dark or system');
  const interval = v['statsIntervalMs'] ?? DEFAULT_SETTINGS.statsIntervalMs;
  if (!INTERVALS.includes(interval as StatsInterval)) throw new InvalidArgument('statsIntervalMs must be 1000, 2000 or 5000');
  let vm: Settings['vm'] = null;
  if (v['vm'] !== null && v['vm'] !== undefined) {
    const r = v['vm'] as Record<string, unknown>;
    const whole = (key: string, min: number, max: number): number => {
      const n = r[key];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgument(`vm.${key} must be between ${min} and ${max}`);
      return n;
    };
    vm = { cpus: whole('cpus', 1, 64), memoryMiB: whole('memoryMiB', 512, 262_144), diskGiB: whole('diskGiB', 8, 4096) };
  }
  return {
    theme: theme as Theme,
    connection: parseConnectionTarget(v['connection'] ?? DEFAULT_SETTINGS.connection),
    statsIntervalMs: interval as StatsInterval,
    vm,
  };
}
