import { describe, expect, it } from 'vitest';
import { attachment, parseRange } from '../../../runtime-agent/src/api/downloads.js';

describe('parseRange', () => {
  it('serves the whole file without a header', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'whole' });
    expect(parseRange('  ', 100)).toEqual({ kind: 'whole' });
  });

  it('reads a-b, a- and the suffix -n, clipping the end to the file', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'range', range: { start: 0, end: 9 } });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'range', range: { start: 90, end: 99 } });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'range', range: { start: 90, end: 99 } });
    expect(parseRange('bytes=-500', 100)).toEqual({ kind: 'range', range: { start: 0, end: 99 } });
    expect(parseRange('bytes=50-5000', 100)).toEqual({ kind: 'range', range: { start: 50, end: 99 } });
    expect(parseRange(' bytes = 1 - 2 ', 100)).toEqual({ kind: 'range', range: { start: 1, end: 2 } });
  });

  it('refuses what it cannot satisfy, with a reason', () => {
    const reason = (header: string, size: number): string => {
      const r = parseRange(header, size);
      if (r.kind !== 'unsatisfiable') throw new Error(`${header} was accepted`);
      return r.reason;
    };
    expect(reason('bytes=100-', 100)).toMatch(/outside the file \(100 bytes\)/);
    expect(reason('bytes=0-', 0)).toMatch(/empty/);
    expect(reason('bytes=-0', 100)).toMatch(/N ≥ 1/);
    expect(reason('bytes=-5', 0)).toMatch(/non-empty/);
    expect(reason('bytes=9-3', 100)).toMatch(/end comes before the start/);
    expect(reason('bytes=0-1,4-5', 100)).toMatch(/only one range/);
    expect(reason('items=0-1', 100)).toMatch(/malformed/);
    expect(reason('bytes=-', 100)).toMatch(/N ≥ 1/);
  });
});

describe('attachment', () => {
  it('keeps plain names and escapes everything else in both forms', () => {
    expect(attachment('report-1.pdf')).toBe(`attachment; filename="report-1.pdf"; filename*=UTF-8''report-1.pdf`);
    expect(attachment('a"b\r\nc/d\\e.txt')).toBe(`attachment; filename="a_b__c_d_e.txt"; filename*=UTF-8''a%22b%0D%0Ac%2Fd%5Ce.txt`);
    expect(attachment(".bashrc")).toMatch(/filename="_bashrc"/);
    expect(attachment("it's (1)*.txt")).toMatch(/filename\*=UTF-8''it%27s%20%281%29%2A\.txt$/);
    expect(attachment('')).toMatch(/filename="download"/);
  });
});
