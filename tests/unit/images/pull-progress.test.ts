import { describe, expect, it } from 'vitest';
import { humanSize, layerProgress, layerStatus, progressBar, ProgressReporter, statusMessage } from '../../../runtime-agent/src/images/progress.js';
import type { JsonMessage } from '../../../runtime-agent/src/images/progress-types.js';

describe('Docker progress text', () => {
  it('sizes as go-units HumanSize does (decimal, four significant digits)', () => {
    expect(humanSize(0)).toBe('0B');
    expect(humanSize(999)).toBe('999B');
    expect(humanSize(1000)).toBe('1kB');
    expect(humanSize(2_811_000)).toBe('2.811MB');
    expect(humanSize(1_080_000)).toBe('1.08MB');
    expect(humanSize(25_000_000)).toBe('25MB');
    expect(humanSize(1_234_567_890)).toBe('1.235GB');
  });

  it('draws the bar as jsonmessage does at the daemon width', () => {
    expect(progressBar(0, 0)).toBe('');
    expect(progressBar(2_811_000, 2_811_000)).toBe(`[${'='.repeat(50)}>]  2.811MB/2.811MB`);
    expect(progressBar(1_000, 100_000)).toBe(`[>${' '.repeat(50)}]      1kB/100kB`);
    expect(progressBar(50_000, 100_000)).toBe(`[${'='.repeat(25)}>${' '.repeat(25)}]     50kB/100kB`);
    // A current beyond the total drops the total, as Docker does.
    expect(progressBar(200, 100)).toBe(`[${'='.repeat(50)}>]     200B`);
    expect(progressBar(5_000, 0)).toBe('     5kB');
  });

  it('words status and layer messages as moby does', () => {
    expect(statusMessage('Pulling from library/busybox', 'latest')).toEqual({ status: 'Pulling from library/busybox', id: 'latest' });
    expect(statusMessage('Digest: sha256:abc')).toEqual({ status: 'Digest: sha256:abc' });
    expect(layerStatus('0123456789ab', 'Pull complete')).toEqual({ status: 'Pull complete', progressDetail: {}, id: '0123456789ab' });
    expect(layerProgress('0123456789ab', 'Downloading', 10, 20)).toMatchObject({ progressDetail: { current: 10, total: 20 }, id: '0123456789ab' });
  });

  it('reports the first and last count and throttles the ones between', () => {
    const sent: JsonMessage[] = [];
    const reporter = new ProgressReporter({ send: (m) => sent.push(m) }, 'abc', 'Downloading', 300, 60_000);
    reporter.add(100);
    reporter.add(100);
    reporter.add(100);
    reporter.finish();
    reporter.finish();
    expect(sent.map((m) => m.progressDetail?.current)).toEqual([100, 300]);
    expect(sent.every((m) => m.progressDetail?.total === 300 && m.status === 'Downloading')).toBe(true);
  });
});
