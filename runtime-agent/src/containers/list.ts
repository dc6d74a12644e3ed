import { invalid } from '../errors.js';
import { matchLabels, parseFilters } from '../api/query.js';
import type { ImageProvider } from '../images/types.js';
import type { ContainerRecord, ContainerStatus } from './model.js';

const FILTERS = ['status', 'name', 'label', 'ancestor', 'exited', 'id', 'before', 'since', 'volume'] as const;
const STATUSES: readonly ContainerStatus[] = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** moby's `volume=` filter: a mount's destination, its volume's name, or (no name) its source. */
function mountsVolume(c: ContainerRecord, value: string): boolean {
  return (c.MountPoints ?? []).some((m) => m.Destination === value || (m.Name ? m.Name === value : m.Source === value));
}

export interface ListOptions {
  readonly all: boolean;
  readonly limit: number | undefined;
  readonly query: URLSearchParams;
}

/**
 * `GET /containers/json`: newest first; without `all` only running ones; `limit` (ps -n)
 * implies all; filters as Docker's (`status`, `name` as a regexp-ish substring, `label`,
 * `ancestor` = image and its tags, `exited` = exit code, `id` prefix, `before`/`since`,
 * `volume` = a volume name or mount destination).
 */
export async function listContainers(
  containers: readonly ContainerRecord[],
  images: ImageProvider,
  find: (ref: string) => ContainerRecord | undefined,
  opts: ListOptions,
): Promise<ContainerRecord[]> {
  const filters = parseFilters(opts.query, FILTERS);
  for (const s of filters.get('status') ?? []) {
    if (!STATUSES.includes(s as ContainerStatus)) throw invalid(`invalid filter 'status=${s}'`);
  }
  const exited = (filters.get('exited') ?? []).map((e) => {
    if (!/^-?\d+$/.test(e)) throw invalid(`invalid filter 'exited=${e}'`);
    return Number(e);
  });
  const ancestors = new Set<string>();
  for (const ref of filters.get('ancestor') ?? []) {
    try {
      ancestors.add((await images.resolve(ref)).id);
    } catch {
      /* an unknown image matches nothing */
    }
  }
  const created = (key: string): number | undefined => {
    const ref = filters.get(key)?.[0];
    if (ref === undefined) return undefined;
    const c = find(ref);
    if (!c) throw invalid(`no such container: ${ref}`);
    return Date.parse(c.Created);
  };
  const namePatterns = (filters.get('name') ?? []).map((n) => {
    try {
      return new RegExp(n.replace(/^\//, ''));
    } catch {
      throw invalid(`invalid filter 'name=${n}': not a valid regular expression`);
    }
  });
  const before = created('before');
  const since = created('since');

  let list = [...containers].sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created) || (b.Id < a.Id ? -1 : 1));
  const all = opts.all || opts.limit !== undefined || filters.has('status') || filters.has('exited');
  list = list.filter((c) => {
    if (!all && !c.State.Running) return false;
    const f = (key: string): string[] | undefined => filters.get(key);
    if (f('status') && !f('status')?.includes(c.State.Status)) return false;
    if (namePatterns.length > 0 && !namePatterns.some((re) => re.test(c.Name))) return false;
    if (f('id') && !f('id')?.some((i) => c.Id.startsWith(i))) return false;
    if (f('label') && !matchLabels(c.Config.Labels ?? {}, f('label') ?? [])) return false;
    if (f('ancestor') && !ancestors.has(c.Image)) return false;
    if (exited.length > 0 && (c.State.Status !== 'exited' || !exited.includes(c.State.ExitCode))) return false;
    if (f('volume') && !f('volume')?.some((v) => mountsVolume(c, v))) return false;
    if (before !== undefined && Date.parse(c.Created) >= before) return false;
    if (since !== undefined && Date.parse(c.Created) <= since) return false;
    return true;
  });
  if (opts.limit !== undefined && opts.limit > 0) list = list.slice(0, opts.limit);
  return list;
}
