import { readFile } from 'node:fs/promises';

/**
 * The mount points of berthd's mount namespace, from /proc/self/mountinfo (field 5, with the
 * kernel's octal escapes for space, tab, newline and backslash undone).
 */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field !== undefined) points.push(field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))));
  }
  return points;
}

/** Mount points at `dir` or below it. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return (await mountPoints()).filter((p) => p === dir || p.startsWith(prefix));
}
