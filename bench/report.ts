import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The end every benchmark shares: `measure` runs; whether it finished or failed part-way, the
 * report `render` makes (given the error, on one line, if any) goes to stdout and to `out`, so
 * the figures measured before a failure are kept; a failure still exits non-zero.
 */
export async function measureAndReport(name: string, out: string, measure: () => Promise<void>, render: (error: string | undefined) => string): Promise<void> {
  let error: string | undefined;
  try {
    await measure();
  } catch (err) {
    error = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' | ');
    process.stderr.write(`${name}: ${error}\n`);
  }
  const text = render(error);
  process.stdout.write(`\n${text}`);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, text);
  process.stdout.write(`\nwritten to ${out}\n`);
  if (error !== undefined) process.exitCode = 1;
}

/** Runs a benchmark's main(); anything it throws is printed and exits 1. */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
