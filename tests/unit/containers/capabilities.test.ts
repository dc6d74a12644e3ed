import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES, effectiveCapabilities, validateCapabilities } from '../../../runtime-agent/src/containers/capabilities.js';
import { parseSignal } from '../../../runtime-agent/src/containers/signals.js';
import { humanDuration, statusText } from '../../../runtime-agent/src/containers/view.js';
import { newState, type ContainerRecord } from '../../../runtime-agent/src/containers/model.js';
import { validateName } from '../../../runtime-agent/src/containers/names.js';

describe('capabilities', () => {
  it('keeps Docker\'s 14 defaults', () => {
    const caps = effectiveCapabilities(null, null, false);
    expect(caps).toHaveLength(14);
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
    expect(caps).toContain(0); // CHOWN
    expect(caps).not.toContain(21); // SYS_ADMIN
  });
  it('drops then adds, accepting CAP_ prefixes and ALL', () => {
    expect(effectiveCapabilities(['CAP_SYS_ADMIN'], ['chown'], false)).toContain(21);
    expect(effectiveCapabilities(null, ['CHOWN'], false)).not.toContain(0);
    expect(effectiveCapabilities(['NET_ADMIN'], ['ALL'], false)).toEqual([12]);
    expect(effectiveCapabilities(['ALL'], null, false)).toHaveLength(41);
    expect(effectiveCapabilities(null, null, true)).toHaveLength(41);
  });
  it('refuses unknown capabilities', () => {
    expect(() => validateCapabilities(['CAP_FLY'])).toThrow('unknown capability: "CAP_FLY"');
  });
});

describe('signals and names', () => {
  it('parses signals as Docker does', () => {
    expect(parseSignal('SIGTERM')).toBe(15);
    expect(parseSignal('kill')).toBe(9);
    expect(parseSignal('10')).toBe(10);
    expect(parseSignal('SIGRTMIN+1')).toBe(35);
    expect(() => parseSignal('SIGNOPE')).toThrow('Invalid signal: SIGNOPE');
    expect(() => parseSignal('0')).toThrow('Invalid signal: 0');
  });
  it('validates container names', () => {
    expect(validateName('/web-1')).toBe('web-1');
    expect(() => validateName('bad name')).toThrow(/Invalid container name \(bad name\)/);
    expect(() => validateName('x')).toThrow(/Invalid container name/);
  });
});

describe('status text', () => {
  it('reads like docker ps', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(5000)).toBe('5 seconds');
    expect(humanDuration(60_000)).toBe('About a minute');
    expect(humanDuration(3 * 3600_000)).toBe('3 hours');
    const c = { State: { ...newState(), Status: 'exited', ExitCode: 3, FinishedAt: new Date(Date.now() - 4000).toISOString() } } as ContainerRecord;
    expect(statusText(c)).toBe('Exited (3) 4 seconds ago');
    c.State = { ...c.State, Status: 'paused', Paused: true, StartedAt: new Date(Date.now() - 10_000).toISOString() };
    expect(statusText(c)).toBe('Up 10 seconds (Paused)');
  });
});
