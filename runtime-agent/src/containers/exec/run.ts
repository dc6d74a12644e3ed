import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../../errors.js';
import type { ContainerContext } from '../context.js';
import type { ContainerRecord } from '../model.js';
import { spawnExec } from './start.js';

export interface ProbeResult {
  /** The command's exit code; -1 when it timed out or could not start. */
  readonly exitCode: number;
  /** stdout and stderr interleaved, at most `maxOutput` bytes. */
  readonly output: string;
}

const MAX_OUTPUT = 4096;

/**
 * Runs a command inside a running container to completion, capturing its output, killing it
 * after `timeoutMs`. Health checks use it; it is not a `docker exec` (no exec record, no events).
 */
export async function runInContainer(ctx: ContainerContext, c: ContainerRecord, cmd: string[], timeoutMs: number): Promise<ProbeResult> {
  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < MAX_OUTPUT) output = (output + chunk.toString('utf8')).slice(0, MAX_OUTPUT);
  };
  let proc;
  try {
    proc = await spawnExec(ctx, c, { config: { Cmd: cmd, AttachStdout: true, AttachStderr: true } }, null);
  } catch (err) {
    return { exitCode: -1, output: messageOf(err) };
  }
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  const timer = sleep(timeoutMs).then(() => 'timeout' as const);
  const outcome = await Promise.race([proc.exited, timer]);
  if (outcome === 'timeout') {
    proc.kill('SIGKILL');
    await proc.exited;
    return { exitCode: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
  }
  return { exitCode: outcome.signal > 0 ? 128 + outcome.signal : outcome.code, output };
}
