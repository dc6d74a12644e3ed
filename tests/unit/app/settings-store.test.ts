import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, parseConnectionTarget, SettingsStore } from '../../../electron/main/app/settings-store.js';

describe('settings store', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  async function tmp(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'berth-settings-'));
    dirs.push(d);
    return d;
  }

  it('saves changes as 0600 JSON, tells listeners, and loads them back', async () => {
    const path = join(await tmp(), 'nested', 'settings.json');
    const store = new SettingsStore(path);
    expect(await store.load()).toEqual(DEFAULT_SETTINGS);
    const seen: string[] = [];
    store.onChange((s) => seen.push(s.theme));
    await store.update({ theme: 'dark', statsIntervalMs: 2000 });
    expect(seen).toEqual(['dark']);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = new SettingsStore(path);
    expect((await again.load()).theme).toBe('dark');
    expect(again.current.statsIntervalMs).toBe(2000);
  });

  it('refuses bad values with messages and keeps the old settings', async () => {
    const store = new SettingsStore(undefined);
    await expect(store.update({ theme: 'neon' as 'dark' })).rejects.toThrow(/theme must be light, dark or system/);
    await expect(store.update({ statsIntervalMs: 7 as 1000 })).rejects.toThrow(/1000, 2000 or 5000/);
    await expect(store.update({ vm: { cpus: 0, memoryMiB: 2048, diskGiB: 64 } })).rejects.toThrow(/vm.cpus/);
    expect(store.current).toEqual(DEFAULT_SETTINGS);
  });

  it('keeps a settings file that does not parse aside instead of overwriting it', async () => {
    const dir = await tmp();
    const path = join(dir, 'settings.json');
    await writeFile(path, '{ not json');
    const store = new SettingsStore(path);
    expect(await store.load()).toEqual(DEFAULT_SETTINGS);
    expect(await readFile(`${path}.bad`, 'utf8')).toBe('{ not json');
  });

  it('validates connection targets', () => {
    expect(parseConnectionTarget({ kind: 'local' })).toEqual({ kind: 'local' });
    expect(parseConnectionTarget({ kind: 'socket', socketPath: '/var/run/docker.sock' })).toEqual({ kind: 'socket', socketPath: '/var/run/docker.sock' });
    expect(parseConnectionTarget({ kind: 'ssh', host: 'build.example', username: 'me', port: 2222 })).toEqual({ kind: 'ssh', host: 'build.example', username: 'me', port: 2222 });
    expect(() => parseConnectionTarget({ kind: 'socket', socketPath: 'relative.sock' })).toThrow(/absolute path/);
    expect(() => parseConnectionTarget({ kind: 'ssh', host: 'a b', username: 'me' })).toThrow(/host/);
    expect(() => parseConnectionTarget({ kind: 'ssh', host: 'h', username: 'me', port: 70000 })).toThrow(/port/);
    expect(() => parseConnectionTarget({ kind: 'tcp' })).toThrow(/local, socket or ssh/);
  });
});
