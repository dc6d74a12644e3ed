import { invalid } from '../errors.js';

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Docker's filter timestamps (`until`): Unix seconds (`1700000000`, `1700000000.5`), a date
 * or RFC 3339 time (`2024-01-02`, `2024-01-02T15:04:05Z`), or a Go duration before `now`
 * (`10m`, `1h30m`). Returns milliseconds since the epoch.
 */
export function parseTimestamp(value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    let ms = 0;
    for (const m of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * (UNITS[m[2] as string] ?? 0);
    return now - ms;
  }
  const parsed = Date.parse(value);
  if (!Number.isNaN(parsed)) return parsed;
  throw invalid(`invalid value for 'until' filter: failed to parse value as time or duration: "${value}"`);
}
