/**
 * Build arguments with Docker's scope rules (moby builder/dockerfile/buildargs.go):
 *
 *   - `--build-arg k=v` values (`k` alone: from the client's environment, resolved by the CLI;
 *     a null value means "unset") override ARG defaults.
 *   - ARGs before the first FROM are *meta* args: usable in FROM lines; inside a stage only
 *     once the stage re-declares them (`ARG k`), with the meta value as default.
 *   - Inside a stage an ARG is visible from its declaration on, in expansions and in RUN's
 *     environment (not in the image's), unless an ENV of the same name shadows it.
 *   - The proxy args (HTTP_PROXY...) are allowed without any ARG, kept out of RUN's history.
 *   - A `--build-arg` no ARG anywhere declared: the classic builder's warning.
 */
export const BUILTIN_ARGS: ReadonlySet<string> = new Set([
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy',
  'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
]);

export type ArgValues = ReadonlyMap<string, string | null>;

export class BuildArgs {
  /** Declared in the current stage (name -> default; undefined: none). */
  private readonly declared = new Map<string, string | undefined>();

  constructor(
    private readonly fromOptions: ArgValues,
    private readonly meta: Map<string, string | undefined>,
    /** Every ARG name declared anywhere in the build (shared by the stages). */
    private readonly referenced: Set<string>,
  ) {}

  static forBuild(fromOptions: ArgValues): BuildArgs {
    return new BuildArgs(fromOptions, new Map(), new Set());
  }

  /** A fresh scope for the next stage: meta args and references carry over, declarations do not. */
  forStage(): BuildArgs {
    return new BuildArgs(this.fromOptions, this.meta, this.referenced);
  }

  /** `ARG k[=v]` before the first FROM. */
  declareMeta(name: string, value: string | undefined): void {
    this.meta.set(name, value);
    this.declared.set(name, value);
    this.referenced.add(name);
  }

  /** `ARG k[=v]` inside a stage. */
  declare(name: string, value: string | undefined): void {
    this.declared.set(name, value);
    this.referenced.add(name);
  }

  /** What FROM lines may expand: the meta args. */
  metaValues(): Map<string, string> {
    return this.valuesOf(this.meta);
  }

  /** The stage's visible args (declared ones and given builtins) with their values. */
  values(): Map<string, string> {
    return this.valuesOf(this.declared);
  }

  /** The args RUN sees, as `k=v`, minus those an ENV of the same name shadows. */
  runEnv(env: readonly string[]): string[] {
    const shadowed = new Set(env.map((e) => e.split('=', 1)[0]));
    return [...this.values()].filter(([k]) => !shadowed.has(k)).map(([k, v]) => `${k}=${v}`);
  }

  /** Whether `k` belongs in RUN's history (`|1 k=v /bin/sh -c ...`): not an undeclared builtin. */
  recorded(name: string): boolean {
    return this.declared.has(name) || !BUILTIN_ARGS.has(name);
  }

  /** `--build-arg` names no ARG declared (builtins excepted), sorted. */
  unused(): string[] {
    return [...this.fromOptions.keys()].filter((k) => !this.referenced.has(k) && !BUILTIN_ARGS.has(k)).sort();
  }

  /** Docker's getBuildArg over a scope: the given value, else the default, else the meta value. */
  private valuesOf(scope: ReadonlyMap<string, string | undefined>): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of new Set([...scope.keys(), ...BUILTIN_ARGS])) {
      const given = this.fromOptions.get(name);
      const fallback = scope.get(name) ?? this.meta.get(name);
      const value = given !== undefined && given !== null ? given : scope.has(name) || this.meta.has(name) ? fallback : undefined;
      if (value !== undefined) out.set(name, value);
    }
    return out;
  }
}
