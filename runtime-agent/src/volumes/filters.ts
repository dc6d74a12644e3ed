import { invalid } from '../errors.js';
import { matchLabels, type Filters } from '../api/query.js';
import { ANONYMOUS_LABEL, type VolumeRecord } from './model.js';

/**
 * Docker's volume filters (moby volume/service/convert.go):
 *
 *   list   dangling=true|false   unused by every container (any state) / used by one
 *          name=<regexp>          the name equals it or matches it (a plain word = substring)
 *          driver=local           exact
 *          label=k / label=k=v    every one must match
 *   prune  label, label!          label! excludes a volume that matches every label! value
 *          all=true               named volumes too; without it only anonymous ones (API 1.42)
 * Keys outside these are a 400 (`invalid filter 'x'`, from parseFilters).
 */
export const LIST_FILTERS = ['dangling', 'name', 'driver', 'label'] as const;
export const PRUNE_FILTERS = ['label', 'label!', 'all'] as const;

export type VolumePredicate = (v: VolumeRecord, inUse: boolean) => boolean;

export function listPredicate(filters: Filters): VolumePredicate {
  const dangling = filters.get('dangling') ?? [];
  const wantDangling = dangling.length > 0 ? parseBool('dangling', dangling[dangling.length - 1] as string) : undefined;
  const names = filters.get('name') ?? [];
  const drivers = filters.get('driver') ?? [];
  const labels = filters.get('label') ?? [];
  return (v, inUse) =>
    (names.length === 0 || names.some((n) => nameMatches(n, v.Name))) &&
    (drivers.length === 0 || drivers.includes(v.Driver)) &&
    matchLabels(v.Labels, labels) &&
    (wantDangling === undefined || wantDangling === !inUse);
}

/** Which unused volumes a prune takes; moby's withPrune adds the anonymous label unless all=true. */
export function prunePredicate(filters: Filters): (v: VolumeRecord) => boolean {
  const all = filters.get('all') ?? [];
  if (all.length > 1) throw invalid(`invalid filter 'all=[${all.join(' ')}]': only one value is expected`);
  const everything = all.length === 1 && goBool('all', all[0] as string);
  const want = [...(filters.get('label') ?? []), ...(everything ? [] : [ANONYMOUS_LABEL])];
  const not = filters.get('label!') ?? [];
  return (v) => matchLabels(v.Labels, want) && (not.length === 0 || !matchLabels(v.Labels, not));
}

/** moby's filters.Match: equal, or the value as a regular expression found in the name. */
function nameMatches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  try {
    return new RegExp(pattern).test(name);
  } catch {
    return false; // moby skips a value that does not compile
  }
}

function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(`invalid filter '${key}=${value}'`);
}

/** Go's strconv.ParseBool. */
function goBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw invalid(`invalid filter '${key}': strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}
