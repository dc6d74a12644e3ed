import type { ImageRuntimeConfig } from '../images/types.js';
import type { BuildArgs } from './args.js';

/** Docker's default PATH, added to a stage's config when its base image has none. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

/**
 * Where one stage stands while its instructions run (moby's dispatchState): the image so far
 * (undefined only for `FROM scratch` before the first step that commits), the config the next
 * image gets, the args in scope and what MAINTAINER and CMD have said.
 */
export class StageState {
  imageId: string | undefined;
  config: ImageRuntimeConfig;
  author = '';
  /** A CMD was set in this stage: a later ENTRYPOINT keeps it. */
  cmdSet = false;

  constructor(
    readonly name: string | undefined,
    base: { readonly id: string | undefined; readonly config: ImageRuntimeConfig },
    readonly args: BuildArgs,
  ) {
    this.imageId = base.id;
    this.config = structuredClone(base.config);
    if (!(this.config.Env ?? []).some((e) => e.startsWith('PATH='))) this.config.Env = [...(this.config.Env ?? []), DEFAULT_PATH];
  }

  get shell(): string[] {
    return this.config.Shell && this.config.Shell.length > 0 ? [...this.config.Shell] : [...DEFAULT_SHELL];
  }

  /** What instructions expand with: the config's Env, then the args ENV does not shadow. */
  expansionEnv(): Map<string, string> {
    const env = new Map<string, string>();
    const list = this.config.Env ?? [];
    for (const entry of list) {
      const eq = entry.indexOf('=');
      env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1));
    }
    for (const entry of this.args.runEnv(list)) {
      const eq = entry.indexOf('=');
      env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return env;
  }
}
