import { describe, expect, it } from 'vitest';
import { parseEventTime } from '../../../runtime-agent/src/api/routes/events.js';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { EventBus, type EngineEvent } from '../../../runtime-agent/src/events/bus.js';
import { EventFilter } from '../../../runtime-agent/src/events/filter.js';

const CID = '3f4e5d6c7b8a'.padEnd(64, '0');
const IMG = `sha256:${'ab'.repeat(32)}`;

function events(): EngineEvent[] {
  const bus = new EventBus();
  bus.emit('container', 'create', CID, { image: 'berth.test/busybox:latest', name: 'web', tier: 'front' });
  bus.emit('container', 'start', CID, { image: 'berth.test/busybox:latest', name: 'web', tier: 'front' });
  bus.emit('container', 'exec_start: sh -c true', CID, { image: 'berth.test/busybox:latest', name: 'web', execID: 'x' });
  bus.emit('container', 'health_status: healthy', CID, { image: 'berth.test/busybox:latest', name: 'web' });
  bus.emit('container', 'start', 'f'.repeat(64), { image: 'other:1', name: 'db' });
  bus.emit('image', 'tag', IMG, { name: 'myrepo:1', maintainer: 'me' });
  bus.emit('image', 'untag', IMG, { name: 'myrepo:1' });
  bus.emit('volume', 'create', 'data', { driver: 'local' });
  bus.emit('network', 'connect', 'n'.repeat(64), { container: CID, name: 'appnet', type: 'bridge' });
  return [...bus.past()];
}

function pick(filters: Record<string, string[]>): string[] {
  const f = new EventFilter(new Map(Object.entries(filters)));
  return events().filter((e) => f.includes(e)).map((e) => `${e.Type} ${e.Action} ${e.Actor.Attributes.name ?? e.Actor.ID}`);
}

describe('event filters (Docker semantics)', () => {
  it('passes everything without filters', () => {
    expect(pick({})).toHaveLength(9);
    expect(new EventFilter(new Map()).empty).toBe(true);
  });

  it('type and event are exact; several values of one key are alternatives', () => {
    expect(pick({ type: ['image'] })).toEqual(['image tag myrepo:1', 'image untag myrepo:1']);
    expect(pick({ event: ['start'] })).toEqual(['container start web', 'container start db']);
    expect(pick({ event: ['create', 'untag'] })).toEqual(['container create web', 'image untag myrepo:1', 'volume create data']);
    expect(pick({ type: ['container'], event: ['create'] })).toEqual(['container create web']);
  });

  it('exec_start and health_status match by prefix', () => {
    expect(pick({ event: ['exec_start'] })).toEqual(['container exec_start: sh -c true web']);
    expect(pick({ event: ['health_status'] })).toEqual(['container health_status: healthy web']);
  });

  it('container matches the ID or name, exactly or by prefix, and excludes other types', () => {
    const web = ['container create web', 'container start web', 'container exec_start: sh -c true web', 'container health_status: healthy web'];
    expect(pick({ container: ['web'] })).toEqual(web);
    expect(pick({ container: [CID.slice(0, 12)] })).toEqual(web);
    expect(pick({ container: ['web', 'db'], event: ['start'] })).toEqual(['container start web', 'container start db']);
    expect(pick({ container: ['nope'] })).toEqual([]);
  });

  it('image matches image events by ID or name and container events by their image, with or without tag', () => {
    expect(pick({ image: ['myrepo'] })).toEqual(['image tag myrepo:1', 'image untag myrepo:1']);
    expect(pick({ image: [IMG] })).toEqual(['image tag myrepo:1', 'image untag myrepo:1']);
    expect(pick({ image: ['other:1'] })).toEqual(['container start db']);
    expect(pick({ image: ['berth.test/busybox'], event: ['create'] })).toEqual(['container create web']);
  });

  it('label needs every key (and value) among the attributes', () => {
    expect(pick({ label: ['tier'] })).toEqual(['container create web', 'container start web']);
    expect(pick({ label: ['tier=front', 'name=web'] })).toEqual(['container create web', 'container start web']);
    expect(pick({ label: ['tier=back'] })).toEqual([]);
    expect(pick({ label: ['maintainer=me'] })).toEqual(['image tag myrepo:1']);
  });

  it('volume and network match their actors by ID or name', () => {
    expect(pick({ volume: ['data'] })).toEqual(['volume create data']);
    expect(pick({ network: ['appnet'] })).toEqual(['network connect appnet']);
    expect(pick({ type: ['network', 'volume'] })).toHaveLength(2);
  });

  it('ignores keys Docker does not know', () => {
    expect(pick({ colour: ['blue'] })).toHaveLength(9);
  });
});

describe('since / until', () => {
  it('reads Unix seconds with a fraction (what the CLI sends) as nanoseconds', () => {
    expect(parseEventTime('1700000000', 'since')).toBe(1_700_000_000_000_000_000n);
    expect(parseEventTime('1700000000.5', 'since')).toBe(1_700_000_000_500_000_000n);
    expect(parseEventTime('1700000000.000000001', 'since')).toBe(1_700_000_000_000_000_001n);
    expect(parseEventTime(null, 'since')).toBeUndefined();
    expect(parseEventTime('', 'until')).toBeUndefined();
  });

  it('reads RFC 3339', () => {
    expect(parseEventTime('2023-11-14T22:13:20Z', 'since')).toBe(1_700_000_000_000_000_000n);
    expect(parseEventTime('2023-11-14T23:13:20.25+01:00', 'since')).toBe(1_700_000_000_250_000_000n);
  });

  it('refuses anything else with a 400', () => {
    for (const bad of ['yesterday', '10m', '2023-13-45T00:00:00Z']) {
      let err: unknown;
      try {
        parseEventTime(bad, 'since');
      } catch (e) {
        err = e;
      }
      expect(isBerthError(err, 'invalid-parameter'), bad).toBe(true);
      expect((err as Error).message).toMatch(/invalid value for 'since'/);
    }
  });
});
