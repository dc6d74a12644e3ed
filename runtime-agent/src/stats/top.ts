/**
 * `docker top` (GET /containers/{id}/top?ps_args=): the host's `ps` (procps) run with the
 * client's arguments (default `-ef`), its rows kept when their PID is one of the container's
 * cgroup PIDs, answered as Docker's `{Titles, Processes}`.
 *
 * As Docker does: `-q<pids>` is appended to spare ps listing the whole host, and when ps
 * refuses that combination (some options cannot be mixed with -q) it runs again without it;
 * `Titles` are the header's fields, each row is split into as many fields with the overhang
 * joined into the last one (the command line keeps its spaces); thread rows (`-` in the PID
 * column, with `m`) follow their process. `key=PID` renames are refused (the PID column must
 * stay findable). ps failing on the arguments is the client's error: 400 with ps's message.
 */
import { execFile } from 'node:child_process';
import { invalid } from '../errors.js';

export interface TopResponse {
  Titles: string[];
  Processes: string[][];
}

export interface PsResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ps` with these arguments. */
export type PsRunner = (args: readonly string[]) => Promise<PsResult>;

const PS_TIMEOUT_MS = 10_000;

export const hostPs: PsRunner = (args) =>
  new Promise((resolve) => {
    execFile('ps', [...args], { timeout: PS_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      resolve({ ok: err === null, stdout, stderr: stderr || (err ? err.message : '') });
    });
  });

/** Docker's check: `ps -o pid=PID` style renames of a column to PID are not allowed. */
export function validatePsArgs(psArgs: string): void {
  for (const m of psArgs.matchAll(/\s+([^\s]*)=\s*(PID[^\s]*)/g)) {
    if (m[1] !== 'pid') throw invalid(`specifying "${m[1] ?? ''}=${m[2] ?? ''}" is not allowed`);
  }
}

/** Splits on ASCII whitespace only (as Docker: a non-ASCII space in a command stays). */
function fields(line: string): string[] {
  return line.split(/[\t\n\f\r ]+/).filter((f) => f !== '');
}

export function parsePsOutput(output: string, pids: readonly number[]): TopResponse {
  const lines = output.split('\n');
  const titles = fields(lines[0] ?? '');
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw invalid(`Couldn't find PID field in ps output`);
  const wanted = new Set(pids);
  const processes: string[][] = [];
  const add = (row: string[]): void => {
    const head = row.slice(0, titles.length - 1);
    processes.push([...head, row.slice(titles.length - 1).join(' ')]);
  };
  let previousKept = false;
  for (const text of lines.slice(1)) {
    if (text === '') continue;
    const row = fields(text);
    const pidField = row[pidIndex];
    if (pidField === undefined) continue;
    if (pidField === '-') {
      if (previousKept) add(row);
      continue;
    }
    if (!/^\d+$/.test(pidField)) throw invalid(`Unexpected pid '${pidField}' in ps output`);
    previousKept = wanted.has(Number(pidField));
    if (previousKept) add(row);
  }
  return { Titles: titles, Processes: processes };
}

/** Runs ps for these PIDs and keeps their rows. */
export async function top(pids: readonly number[], psArgs: string, ps: PsRunner = hostPs): Promise<TopResponse> {
  const args = psArgs.trim() === '' ? '-ef' : psArgs;
  validatePsArgs(args);
  const argv = args.split(/\s+/).filter((a) => a !== '');
  let result = pids.length > 0 ? await ps([...argv, `-q${pids.join(',')}`]) : { ok: false, stdout: '', stderr: '' };
  if (!result.ok) result = await ps(argv);
  if (!result.ok) {
    const first = result.stderr.split('\n').find((l) => l.trim() !== '') ?? 'ps failed';
    throw invalid(`ps: ${first.trim()}`);
  }
  return parsePsOutput(result.stdout, pids);
}
