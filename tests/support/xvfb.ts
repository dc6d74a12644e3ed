import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A virtual X display (Debian's Xvfb) for running a browser headful: the first free display
 * number from 90 (no lock file, no socket), `-nolisten tcp`, ready once its socket appears.
 * stop() kills it; a test calls it in afterAll.
 */
export interface VirtualDisplay {
  /** `:N`, for DISPLAY. */
  readonly display: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export async function startXvfb(size = '1280x800x24'): Promise<VirtualDisplay> {
  let n = 90;
  while (existsSync(`/tmp/.X${n}-lock`) || existsSync(`/tmp/.X11-unix/X${n}`)) n++;
  const display = `:${n}`;
  const child: ChildProcess = spawn('Xvfb', [display, '-screen', '0', size, '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 10_000;
  while (!existsSync(`/tmp/.X11-unix/X${n}`)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`Xvfb ${display} did not start: ${stderr.trim() || 'timed out'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { display, pid: child.pid, stop };
}
