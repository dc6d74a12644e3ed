import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { parsePsOutput, top, type PsRunner } from '../../../runtime-agent/src/stats/top.js';

const PS_EF = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         400       1  0 10:01 ?        00:00:00 sh -c while true; do sleep 1; done
root         401     400  0 10:01 ?        00:00:00 sleep 1
`;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('docker top', () => {
  it('keeps the container\'s rows and joins the command\'s words into the last column', () => {
    const result = parsePsOutput(PS_EF, [400, 401]);
    expect(result.Titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(result.Processes).toEqual([
      ['root', '400', '1', '0', '10:01', '?', '00:00:00', 'sh -c while true; do sleep 1; done'],
      ['root', '401', '400', '0', '10:01', '?', '00:00:00', 'sleep 1'],
    ]);
  });

  it('keeps thread rows (PID "-") after a kept process only', () => {
    const out = 'PID TID CMD\n1 - init\n- 1 init\n7 - app\n- 7 app\n- 8 app\n';
    expect(parsePsOutput(out, [7]).Processes).toEqual([['7', '-', 'app'], ['-', '7', 'app'], ['-', '8', 'app']]);
  });

  it('runs ps with the arguments and -q<pids>, and again without -q when ps refuses it', async () => {
    const calls: string[][] = [];
    const ps: PsRunner = async (args) => {
      calls.push([...args]);
      if (args.some((a) => a.startsWith('-q'))) return { ok: false, stdout: '', stderr: 'error: -q cannot be used with f' };
      return { ok: true, stdout: PS_EF, stderr: '' };
    };
    const result = await top([400], '-ef f', ps);
    expect(calls).toEqual([['-ef', 'f', '-q400'], ['-ef', 'f']]);
    expect(result.Processes).toHaveLength(1);
    const defaults: string[][] = [];
    await top([1], '', async (args) => (defaults.push([...args]), { ok: true, stdout: PS_EF, stderr: '' }));
    expect(defaults[0]).toEqual(['-ef', '-q1']);
  });

  it('is a 400 with ps\'s message when ps refuses the arguments', async () => {
    const ps: PsRunner = async () => ({ ok: false, stdout: '', stderr: '\nerror: unknown gnu long option\n\nUsage:\n' });
    const err = await rejection(top([1], '--bogus', ps));
    expect(isBerthError(err, 'invalid-parameter')).toBe(true);
    expect((err as Error).message).toBe('ps: error: unknown gnu long option');
  });

  it('is a 400 when the output has no PID column, or a column is renamed to PID', async () => {
    const ps: PsRunner = async () => ({ ok: true, stdout: 'COMMAND\nsh\n', stderr: '' });
    expect(((await rejection(top([1], '-o comm', ps))) as Error).message).toMatch(/Couldn't find PID field/);
    const renamed = await rejection(top([1], '-o user=PID', ps));
    expect(isBerthError(renamed, 'invalid-parameter')).toBe(true);
    expect((renamed as Error).message).toBe('specifying "user=PID" is not allowed');
  });
});
