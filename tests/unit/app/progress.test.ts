import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OperationProgress } from '../../../electron/shared/bridge.js';
import { JsonLineSplitter, LayerBoard, ProgressReport, Throttle, messageError, stripAnsi } from '../../../electron/main/services/progress.js';

describe('LayerBoard', () => {
  it('folds a pull into one entry per layer whose bytes grow to the total', () => {
    const board = new LayerBoard();
    expect(board.apply({ status: 'Pulling from test/busybox', id: 'latest' })).toBe(false);
    expect(board.apply({ status: 'Pulling fs layer', progressDetail: {}, id: 'aaa' })).toBe(true);
    board.apply({ status: 'Pulling fs layer', progressDetail: {}, id: 'bbb' });
    board.apply({ status: 'Downloading', progressDetail: { current: 100, total: 1000 }, id: 'aaa' });
    expect(board.layers).toEqual([
      { id: 'aaa', status: 'Downloading', current: 100, total: 1000 },
      { id: 'bbb', status: 'Pulling fs layer' },
    ]);
    board.apply({ status: 'Download complete', progressDetail: {}, id: 'aaa' });
    expect(board.layers[0]).toEqual({ id: 'aaa', status: 'Download complete', current: 1000, total: 1000 });
    board.apply({ status: 'Already exists', progressDetail: {}, id: 'bbb' });
    expect(board.layers[1]).toEqual({ id: 'bbb', status: 'Already exists' });
    expect(board.apply({ status: 'Digest: sha256:abc' })).toBe(false);
    expect(board.apply({ status: 'Download complete', progressDetail: {}, id: 'aaa' })).toBe(false);
  });

  it('knows push statuses', () => {
    const board = new LayerBoard();
    board.apply({ status: 'The push refers to repository [127.0.0.1:5000/x]' });
    board.apply({ status: 'Pushing', progressDetail: { current: 5, total: 10 }, id: 'ccc' });
    board.apply({ status: 'Pushed', progressDetail: {}, id: 'ccc' });
    expect(board.layers).toEqual([{ id: 'ccc', status: 'Pushed', current: 10, total: 10 }]);
  });
});

describe('messageError', () => {
  it('takes errorDetail, then error', () => {
    expect(messageError({ errorDetail: { message: 'step failed', code: 3 }, error: 'x' })).toBe('step failed');
    expect(messageError({ error: 'manifest unknown' })).toBe('manifest unknown');
    expect(messageError({ status: 'Downloading' })).toBeUndefined();
  });
});

describe('Throttle', () => {
  afterEach(() => vi.useRealTimers());

  it('emits at once, then at most once per interval, and the last state after a burst', () => {
    vi.useFakeTimers();
    const emit = vi.fn();
    const throttle = new Throttle(100, emit);
    for (let i = 0; i < 50; i++) {
      throttle.schedule();
      vi.advanceTimersByTime(10);
    }
    // 500 ms of calls: the first at once, then one per 100 ms.
    expect(emit.mock.calls.length).toBeGreaterThanOrEqual(5);
    expect(emit.mock.calls.length).toBeLessThanOrEqual(6);
    const before = emit.mock.calls.length;
    vi.advanceTimersByTime(200);
    expect(emit.mock.calls.length).toBeLessThanOrEqual(before + 1);
    throttle.flush();
    expect(emit.mock.calls.length).toBeLessThanOrEqual(before + 1);
  });
});

describe('JsonLineSplitter', () => {
  it('parses messages split across chunks, and plain text as stream lines', () => {
    const s = new JsonLineSplitter();
    expect(s.push('{"status":"a"}\n{"str')).toEqual([{ status: 'a' }]);
    expect(s.push('eam":"b\\n"}\nplain')).toEqual([{ stream: 'b\n' }]);
    expect(s.end()).toEqual([{ stream: 'plain\n' }]);
  });
});

describe('ProgressReport', () => {
  it('sends build output line by line without colours, and layer pictures', () => {
    vi.useFakeTimers();
    const sent: OperationProgress[] = [];
    const report = new ProgressReport('op-1', 'build', (p) => sent.push(p));
    report.message({ stream: 'Step 1/3 : FROM x\n ---> ab' });
    report.message({ stream: 'c\n\u001b[91moops\n\u001b[0m' });
    report.message({ status: 'Downloading', progressDetail: { current: 1, total: 2 }, id: 'l1' });
    report.finish();
    expect(sent.filter((p) => p.line !== undefined).map((p) => p.line)).toEqual(['Step 1/3 : FROM x', ' ---> abc', 'oops']);
    expect(sent.find((p) => p.layers !== undefined)?.layers).toEqual([{ id: 'l1', status: 'Downloading', current: 1, total: 2 }]);
    expect(stripAnsi('\u001b[0;31mred\u001b[0m')).toBe('red');
    vi.useRealTimers();
  });
});
