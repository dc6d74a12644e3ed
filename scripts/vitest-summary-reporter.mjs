// A vitest reporter that counts what scripts/test.sh prints on its last line. Vitest's JSON
// reporter cannot: a failing beforeAll/afterAll inside a describe shows there only as skipped
// tests. This one walks the task tree: every test by state, plus one failure per suite or file
// whose own hooks or import failed, plus one per unhandled error. It writes
//   {"passed":N,"failed":N,"skipped":N,"failures":["file > suite: first line of the error",...]}
// to $BERTH_TEST_SUMMARY (default .tmp/test-summary.json).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';

/**
 * @typedef {{ message?: string, name?: string }} TaskError
 * @typedef {{ type: string, name: string, mode?: string, filepath?: string, tasks?: Task[],
 *             result?: { state?: string, errors?: TaskError[] } }} Task
 */

/** @param {TaskError | undefined} err */
function firstLine(err) {
  const text = `${err?.name ? `${err.name}: ` : ''}${err?.message ?? 'unknown error'}`;
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? text;
}

export default class SummaryReporter {
  /** @param {Task[]} files @param {unknown[]} [errors] */
  onFinished(files, errors = []) {
    const summary = { passed: 0, failed: 0, skipped: 0, /** @type {string[]} */ failures: [] };
    /** @param {Task} task @param {string} path */
    const walk = (task, path) => {
      const state = task.result?.state;
      if (task.type === 'test' || task.type === 'custom') {
        if (state === 'pass') summary.passed++;
        else if (state === 'fail') {
          summary.failed++;
          summary.failures.push(`${path}: ${firstLine(task.result?.errors?.[0])}`);
        } else summary.skipped++;
        return;
      }
      // A suite or file: its own errors are hook or collection failures, not its tests'.
      for (const err of task.result?.errors ?? []) {
        summary.failed++;
        summary.failures.push(`${path} (outside its tests): ${firstLine(err)}`);
      }
      for (const child of task.tasks ?? []) walk(child, `${path} > ${child.name}`);
    };
    for (const file of files) walk(file, relative(process.cwd(), file.filepath ?? file.name));
    for (const err of errors) {
      summary.failed++;
      summary.failures.push(`unhandled error: ${firstLine(/** @type {TaskError} */ (err))}`);
    }
    const out = process.env.BERTH_TEST_SUMMARY ?? '.tmp/test-summary.json';
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(summary));
  }
}
