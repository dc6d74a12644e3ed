import { invalid } from '../../errors.js';
import type { EngineEvent, EventBus } from '../../events/bus.js';
import { EventFilter } from '../../events/filter.js';
import { parseFilters } from '../query.js';
import type { Router } from '../router.js';

/**
 * `GET /events?since=&until=&filters=` (Docker Engine API v1.43), streamed: one JSON object
 * and a newline per event, flushed as it happens.
 *
 *   since / until   Unix seconds with an optional fraction (`1700000000.123456789`, what the
 *                   CLI sends) or RFC 3339. With either, the events still held (the bus keeps
 *                   the last 1024) from `since` to `until` are replayed first.
 *   until           in the past: the replay only, then the response ends; in the future: live
 *                   events until that moment; absent: live events until the client leaves.
 *   filters         see events/filter.ts.
 *
 * The 200 head goes out at once (the CLI waits for it before it starts other work).
 */
export function registerEventRoutes(router: Router, events: EventBus): void {
  router.get('/events', async (ctx) => {
    const since = parseEventTime(ctx.query.get('since'), 'since');
    const until = parseEventTime(ctx.query.get('until'), 'until');
    if (until !== undefined && since !== undefined && until < since) {
      throw invalid(`\`since\` time (${ctx.query.get('since') ?? ''}) cannot be after \`until\` time (${ctx.query.get('until') ?? ''})`);
    }
    const filter = new EventFilter(parseFilters(ctx.query, filterKeys(ctx.query.get('filters'))));
    const res = ctx.res;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const write = (ev: EngineEvent): void => {
      if (!res.destroyed && !res.writableEnded) res.write(JSON.stringify(ev) + '\n');
    };

    // Replay and subscription in one synchronous step: no event can fall between them.
    const live: EngineEvent[] = [];
    let deliver: (ev: EngineEvent) => void = (ev) => live.push(ev);
    const unsubscribe = events.subscribe((ev) => {
      if (filter.includes(ev)) deliver(ev);
    });
    if (since !== undefined || until !== undefined) {
      for (const ev of events.past()) {
        if (since !== undefined && ev.timeNano < since) continue;
        if (until !== undefined && ev.timeNano > until) continue;
        if (filter.includes(ev)) write(ev);
      }
    }
    const nowNano = BigInt(Date.now()) * 1_000_000n;
    if (until !== undefined && until <= nowNano) {
      unsubscribe();
      res.end();
      return;
    }
    for (const ev of live.splice(0)) write(ev);
    deliver = write;

    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      res.once('close', done);
      if (until !== undefined) {
        // setTimeout holds at most ~24.8 days; a later `until` is as good as none.
        const ms = Number((until - nowNano) / 1_000_000n) + 1;
        if (ms < 2 ** 31) timer = setTimeout(done, ms);
      }
    });
    if (!res.writableEnded) res.end();
  });
}

/** The keys present in the filters JSON: Docker ignores keys it does not know rather than refuse them. */
function filterKeys(raw: string | null): string[] {
  if (raw === null || raw === '') return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null ? Object.keys(parsed) : [];
  } catch {
    return []; // parseFilters reports the malformed JSON
  }
}

/**
 * A `since` / `until` value as nanoseconds since the epoch: Unix seconds with an optional
 * fraction of up to 9 digits (`1700000000`, `1700000000.5`), or an RFC 3339 time.
 */
export function parseEventTime(value: string | null, name: string): bigint | undefined {
  if (value === null || value === '') return undefined;
  const unix = /^(-?\d+)(?:\.(\d{1,20}))?$/.exec(value);
  if (unix) {
    const fraction = (unix[2] ?? '').slice(0, 9).padEnd(9, '0');
    const seconds = BigInt(unix[1] as string);
    return seconds * 1_000_000_000n + (seconds < 0n ? -1n : 1n) * BigInt(fraction);
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) {
      const frac = /\.(\d+)/.exec(value)?.[1] ?? '';
      const subMs = BigInt(frac.slice(3, 9).padEnd(6, '0'));
      return BigInt(ms) * 1_000_000n + subMs;
    }
  }
  throw invalid(`invalid value for '${name}': invalid timestamp ${JSON.stringify(value)}`);
}
