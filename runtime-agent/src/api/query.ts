import { invalid } from '../errors.js';

/** Docker's boolean query values: `1`, `true`, `True` are true; absent, `0`, `false` are false. */
export function boolParam(query: URLSearchParams, name: string, fallback = false): boolean {
  const value = query.get(name);
  if (value === null || value === '') return fallback;
  const lower = value.toLowerCase();
  if (lower === '1' || lower === 'true' || lower === 'yes') return true;
  if (lower === '0' || lower === 'false' || lower === 'no') return false;
  throw invalid(`invalid boolean value for "${name}": "${value}"`);
}

export function intParam(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw invalid(`invalid integer value for "${name}": "${value}"`);
  return Number(value);
}

/**
 * Docker's `filters` parameter: JSON of `{"key": ["v1", "v2"]}` or the legacy
 * `{"key": {"v1": true}}`. Returns key → values; unknown keys are the caller's to refuse.
 */
export type Filters = Map<string, string[]>;

export function parseFilters(query: URLSearchParams, allowed: readonly string[]): Filters {
  const raw = query.get('filters');
  const filters: Filters = new Map();
  if (raw === null || raw === '') return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid(`invalid filter: ${raw} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid(`invalid filter: expected an object, got ${raw}`);
  }
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!allowed.includes(key)) throw invalid(`invalid filter '${key}'`);
    let values: string[];
    if (Array.isArray(value)) values = value.map(String);
    else if (typeof value === 'object' && value !== null) {
      values = Object.entries(value as Record<string, unknown>).filter(([, on]) => on === true).map(([k]) => k);
    } else throw invalid(`invalid filter '${key}': expected a list of values`);
    filters.set(key, values);
  }
  return filters;
}

/** Matches Docker's `label` filter values (`key` or `key=value`) against a label map. */
export function matchLabels(labels: Readonly<Record<string, string>>, wanted: readonly string[]): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return Object.prototype.hasOwnProperty.call(labels, w);
    return labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}
