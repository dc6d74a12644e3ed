import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../../runtime-agent/src/errors.js';
import { listPredicate, prunePredicate } from '../../../runtime-agent/src/volumes/filters.js';
import { ANONYMOUS_LABEL, type VolumeRecord } from '../../../runtime-agent/src/volumes/model.js';

const vol = (Name: string, Labels: Record<string, string> = {}): VolumeRecord => ({
  Name,
  Driver: 'local',
  Labels,
  Options: {},
  CreatedAt: '2024-01-01T00:00:00.000Z',
});
const f = (entries: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(entries));

describe('volume list filters', () => {
  const data = vol('data', { team: 'web', tier: 'db' });
  const cache = vol('cache-1', { team: 'ops' });
  const anon = vol('a'.repeat(64), { [ANONYMOUS_LABEL]: '' });

  it('dangling=true keeps unused volumes, dangling=false used ones', () => {
    expect(listPredicate(f({ dangling: ['true'] }))(data, false)).toBe(true);
    expect(listPredicate(f({ dangling: ['true'] }))(data, true)).toBe(false);
    expect(listPredicate(f({ dangling: ['0'] }))(data, true)).toBe(true);
    expect(() => listPredicate(f({ dangling: ['maybe'] }))).toThrow(/invalid filter 'dangling=maybe'/);
  });

  it('name matches as a substring or regexp; driver exactly; labels by key or key=value', () => {
    expect(listPredicate(f({ name: ['ach'] }))(cache, false)).toBe(true);
    expect(listPredicate(f({ name: ['^cache-\\d$'] }))(cache, false)).toBe(true);
    expect(listPredicate(f({ name: ['ach'] }))(data, false)).toBe(false);
    expect(listPredicate(f({ name: ['(['] }))(data, false)).toBe(false);
    expect(listPredicate(f({ driver: ['local'] }))(data, false)).toBe(true);
    expect(listPredicate(f({ driver: ['nfs'] }))(data, false)).toBe(false);
    expect(listPredicate(f({ label: ['team'] }))(cache, false)).toBe(true);
    expect(listPredicate(f({ label: ['team=web', 'tier=db'] }))(data, false)).toBe(true);
    expect(listPredicate(f({ label: ['team=web', 'tier=fe'] }))(data, false)).toBe(false);
    expect(listPredicate(f({ label: [ANONYMOUS_LABEL] }))(anon, false)).toBe(true);
  });
});

describe('volume prune filters', () => {
  const named = vol('named', { keep: 'yes' });
  const anon = vol('b'.repeat(64), { [ANONYMOUS_LABEL]: '' });

  it('takes only anonymous volumes unless all=true (API 1.42)', () => {
    expect(prunePredicate(new Map())(anon)).toBe(true);
    expect(prunePredicate(new Map())(named)).toBe(false);
    expect(prunePredicate(f({ all: ['true'] }))(named)).toBe(true);
    expect(prunePredicate(f({ all: ['1'] }))(named)).toBe(true);
    expect(prunePredicate(f({ all: ['false'] }))(named)).toBe(false);
  });

  it('applies label and label! on top', () => {
    expect(prunePredicate(f({ all: ['true'], label: ['keep=yes'] }))(named)).toBe(true);
    expect(prunePredicate(f({ all: ['true'], 'label!': ['keep=yes'] }))(named)).toBe(false);
    expect(prunePredicate(f({ all: ['true'], 'label!': ['keep'] }))(anon)).toBe(true);
  });

  it('refuses more than one or a non-boolean all', () => {
    const err = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        return isBerthError(e, 'invalid-parameter') ? e.message : 'wrong error';
      }
      return 'no error';
    };
    expect(err(() => prunePredicate(f({ all: ['true', 'false'] })))).toContain('only one value is expected');
    expect(err(() => prunePredicate(f({ all: ['yes'] })))).toContain("invalid filter 'all'");
  });
});
