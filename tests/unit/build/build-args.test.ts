import { describe, expect, it } from 'vitest';
import { BuildArgs } from '../../../runtime-agent/src/build/args.js';

// Docker's build-arg scope rules (moby buildargs.go), without a daemon.

describe('BuildArgs', () => {
  it('meta args are visible to FROM, and inside a stage only once re-declared', () => {
    const build = BuildArgs.forBuild(new Map());
    build.declareMeta('VERSION', '1.0');
    expect(build.metaValues()).toEqual(new Map([['VERSION', '1.0']]));
    const stage = build.forStage();
    expect(stage.values()).toEqual(new Map());
    stage.declare('VERSION', undefined);
    expect(stage.values()).toEqual(new Map([['VERSION', '1.0']]));
  });

  it('--build-arg overrides defaults; null means unset; undeclared ones are reported unused', () => {
    const build = BuildArgs.forBuild(new Map<string, string | null>([['NAME', 'given'], ['EMPTY', null], ['EXTRA', 'x'], ['HTTP_PROXY', 'http://p:1']]));
    const stage = build.forStage();
    stage.declare('NAME', 'default');
    stage.declare('EMPTY', 'fallback');
    stage.declare('NODEFAULT', undefined);
    expect(stage.values()).toEqual(new Map([['NAME', 'given'], ['EMPTY', 'fallback'], ['HTTP_PROXY', 'http://p:1']]));
    expect(build.unused()).toEqual(['EXTRA']);
  });

  it('RUN sees the args ENV does not shadow; history omits undeclared proxy args', () => {
    const stage = BuildArgs.forBuild(new Map([['A', '1'], ['B', '2'], ['https_proxy', 'http://p:2']])).forStage();
    stage.declare('A', undefined);
    stage.declare('B', undefined);
    expect(stage.runEnv(['B=env', 'PATH=/bin']).sort()).toEqual(['A=1', 'https_proxy=http://p:2']);
    expect(stage.recorded('A')).toBe(true);
    expect(stage.recorded('https_proxy')).toBe(false);
    stage.declare('https_proxy', undefined);
    expect(stage.recorded('https_proxy')).toBe(true);
  });

  it('a stage does not see the previous stage\'s declarations, but they count as consumed', () => {
    const build = BuildArgs.forBuild(new Map([['ONLY', 'v']]));
    const first = build.forStage();
    first.declare('ONLY', undefined);
    const second = build.forStage();
    expect(second.values().has('ONLY')).toBe(false);
    expect(build.unused()).toEqual([]);
  });
});
