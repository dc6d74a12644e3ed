import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonFileWriter, logFiles, rotationOptions, type LogEntry } from '../../../runtime-agent/src/containers/logs/json-file.js';
import { parseLogTime, parseTail, readLogEntries } from '../../../runtime-agent/src/containers/logs/read.js';

const all = { stdout: true, stderr: true, since: undefined, until: undefined, tail: undefined };

describe('json-file logs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-logs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one entry per line, holding partial lines until their newline or close', async () => {
    const seen: LogEntry[] = [];
    const w = new JsonFileWriter(join(dir, 'c.log'), { maxSize: undefined, maxFiles: 1 }, (e) => seen.push(e));
    w.write('stdout', Buffer.from('hel'));
    w.write('stdout', Buffer.from('lo\nwor'));
    w.write('stderr', Buffer.from('oops\n'));
    expect(seen.map((e) => e.log)).toEqual(['hello\n', 'oops\n']);
    w.close();
    const entries = await readLogEntries([join(dir, 'c.log')], all);
    expect(entries.map((e) => [e.stream, e.log])).toEqual([
      ['stdout', 'hello\n'],
      ['stderr', 'oops\n'],
      ['stdout', 'wor'],
    ]);
    const first = JSON.parse(readFileSync(join(dir, 'c.log'), 'utf8').split('\n')[0] as string) as LogEntry;
    expect(Object.keys(first).sort()).toEqual(['log', 'stream', 'time']);
  });

  it('rotates by size and keeps max-file files', async () => {
    const opts = rotationOptions({ Type: 'json-file', Config: { 'max-size': '1k', 'max-file': '3' } });
    expect(opts).toEqual({ maxSize: 1024, maxFiles: 3 });
    const path = join(dir, 'c.log');
    const w = new JsonFileWriter(path, opts, () => undefined);
    for (let i = 0; i < 200; i++) w.write('stdout', Buffer.from(`line ${i} ${'x'.repeat(40)}\n`));
    w.close();
    expect(readdirSync(dir).sort()).toEqual(['c.log', 'c.log.1', 'c.log.2']);
    const entries = await readLogEntries(logFiles(path, 3), all);
    expect(entries.length).toBeGreaterThan(20);
    expect(entries.length).toBeLessThan(200);
    // Oldest first, contiguous, ending with the last line written.
    const numbers = entries.map((e) => Number(/line (\d+)/.exec(e.log)?.[1]));
    expect(numbers.at(-1)).toBe(199);
    numbers.forEach((n, i) => i > 0 && expect(n).toBe((numbers[i - 1] as number) + 1));
  });

  it('filters by stream, tail and time', async () => {
    const path = join(dir, 'c.log');
    const w = new JsonFileWriter(path, { maxSize: undefined, maxFiles: 1 }, () => undefined);
    for (let i = 0; i < 10; i++) w.write(i % 2 ? 'stderr' : 'stdout', Buffer.from(`${i}\n`));
    w.close();
    expect((await readLogEntries([path], { ...all, tail: 3 })).map((e) => e.log)).toEqual(['7\n', '8\n', '9\n']);
    expect((await readLogEntries([path], { ...all, tail: 0 }))).toEqual([]);
    expect((await readLogEntries([path], { ...all, stderr: false })).map((e) => e.log)).toEqual(['0\n', '2\n', '4\n', '6\n', '8\n']);
    expect(await readLogEntries([path], { ...all, since: Date.now() / 1000 + 60 })).toEqual([]);
    expect((await readLogEntries([path], { ...all, until: Date.now() / 1000 + 60 })).length).toBe(10);
  });

  it('refuses bad log options with a message that says what to fix', () => {
    expect(() => rotationOptions({ Type: 'syslog' })).toThrow(/logging driver "syslog" is not supported/);
    expect(() => rotationOptions({ Config: { 'max-size': 'lots' } })).toThrow(/invalid max-size "lots"/);
    expect(() => rotationOptions({ Config: { 'max-file': '3' } })).toThrow(/max-file cannot be set without max-size/);
    expect(() => rotationOptions({ Config: { colour: 'red' } })).toThrow(/unknown log opt 'colour'/);
    expect(() => parseTail('many')).toThrow(/invalid value for "tail"/);
    expect(parseTail('all')).toBeUndefined();
    expect(parseLogTime('1700000000.5', 'since')).toBe(1700000000.5);
    expect(() => parseLogTime('yesterday', 'since')).toThrow(/invalid value for "since"/);
  });
});

describe('json-file logs after a crash', () => {
  it('ends a torn last line so the next run\'s first entry stays readable', async () => {
    const { appendFileSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'berth-logs-'));
    try {
      const path = join(dir, 'c.log');
      appendFileSync(path, '{"log":"whole\\n","stream":"stdout","time":"2026-01-01T00:00:00.000Z"}\n{"log":"tor');
      const w = new JsonFileWriter(path, { maxSize: undefined, maxFiles: 1 }, () => undefined);
      w.write('stdout', Buffer.from('next run\n'));
      w.close();
      const entries = await readLogEntries([path], all);
      expect(entries.map((e) => e.log)).toEqual(['whole\n', 'next run\n']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
