import { spawn } from 'node:child_process';
import { systemError } from '../errors.js';

/**
 * The narrow host interface of the network module: `ip` and `nft` run with a whole batch
 * of commands on stdin (`ip -batch -`, `nft -f -`), one process per operation.
 */
export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTool(command: string, args: readonly string[], input = ''): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(systemError(`cannot run ${command}: ${e.message}`, e)));
    child.on('close', (code) => {
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Runs a tool and fails with its stderr unless it exits 0. */
export async function runToolChecked(what: string, command: string, args: readonly string[], input = ''): Promise<string> {
  const r = await runTool(command, args, input);
  if (r.code !== 0) throw systemError(`${what}: ${r.stderr.trim() || `${command} exited with ${r.code}`}`);
  return r.stdout;
}
