/**
 * Docker's event filters (`GET /events?filters=`), with Docker's semantics: every key given
 * must match (AND across keys), any value of a key may (OR within a key).
 *
 *   type=container|image|volume|network|daemon     exact
 *   event=start (alias action)                     exact; prefix for health_status, exec_create,
 *                                                  exec_start ("exec_start" matches
 *                                                  "exec_start: sh -c ...")
 *   container=, volume=, network=, daemon=          the actor's ID or `name` attribute, exact or
 *                                                  by prefix; a key given excludes events of other
 *                                                  types (their actor never matches)
 *   image=                                          image events: the ID or `name`; container
 *                                                  events: the `image` attribute; each also
 *                                                  without its tag (`busybox` matches busybox:1)
 *   label=key / label=key=value                    every one must be among the attributes
 *   scope=local                                    exact
 *
 * Keys Docker does not know are ignored, as Docker ignores them.
 */
import type { EngineEvent } from './bus.js';
import { familiarName, parseNormalizedNamed } from '../images/reference.js';

export type EventFilters = ReadonlyMap<string, readonly string[]>;

const NAMED_TYPES = ['container', 'volume', 'network', 'daemon', 'plugin', 'node', 'service', 'secret', 'config'] as const;
const FUZZY_ACTIONS = new Set(['health_status', 'exec_create', 'exec_start']);

export class EventFilter {
  private readonly filters: ReadonlyMap<string, ReadonlySet<string>>;

  constructor(filters: EventFilters) {
    const sets = new Map<string, Set<string>>();
    for (const [key, values] of filters) {
      const name = key === 'action' ? 'event' : key;
      const set = sets.get(name) ?? new Set<string>();
      for (const v of values) set.add(v);
      sets.set(name, set);
    }
    this.filters = sets;
  }

  /** True when no filter would exclude anything. */
  get empty(): boolean {
    return [...this.filters.values()].every((s) => s.size === 0);
  }

  includes(ev: EngineEvent): boolean {
    const attrs = ev.Actor.Attributes;
    return (
      this.matchAction(ev.Action) &&
      this.exact('type', ev.Type) &&
      this.exact('scope', ev.scope) &&
      NAMED_TYPES.every((type) => this.fuzzy(type, ev.Actor.ID) || this.fuzzy(type, attrs.name ?? '')) &&
      this.matchImage(ev) &&
      this.matchLabels(attrs)
    );
  }

  private values(key: string): ReadonlySet<string> | undefined {
    const set = this.filters.get(key);
    return set === undefined || set.size === 0 ? undefined : set;
  }

  private exact(key: string, source: string): boolean {
    const set = this.values(key);
    return set === undefined || set.has(source);
  }

  private fuzzy(key: string, source: string): boolean {
    const set = this.values(key);
    if (set === undefined || set.has(source)) return true;
    for (const prefix of set) if (source.startsWith(prefix)) return true;
    return false;
  }

  private matchAction(action: string): boolean {
    const set = this.values('event');
    if (set === undefined) return true;
    if ([...set].some((v) => FUZZY_ACTIONS.has(v))) return this.fuzzy('event', action);
    return set.has(action);
  }

  private matchImage(ev: EngineEvent): boolean {
    const set = this.values('image');
    if (set === undefined) return true;
    const id = ev.Actor.ID;
    const name = ev.Actor.Attributes[ev.Type === 'image' ? 'name' : 'image'] ?? '';
    return set.has(id) || set.has(name) || set.has(stripTag(id)) || set.has(stripTag(name));
  }

  private matchLabels(attributes: Readonly<Record<string, string>>): boolean {
    const set = this.values('label');
    if (set === undefined) return true;
    for (const wanted of set) {
      const eq = wanted.indexOf('=');
      const key = eq < 0 ? wanted : wanted.slice(0, eq);
      if (!Object.prototype.hasOwnProperty.call(attributes, key)) return false;
      if (eq >= 0 && attributes[key] !== wanted.slice(eq + 1)) return false;
    }
    return true;
  }
}

/** The repository without tag or digest (`busybox:1` → `busybox`); the input when unparsable. */
function stripTag(image: string): string {
  if (image === '') return image;
  try {
    return familiarName(parseNormalizedNamed(image));
  } catch {
    return image;
  }
}
