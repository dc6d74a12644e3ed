/**
 * The contract of build/dockerfile/: the Dockerfile as the builder runs it. The parser
 * (parse.ts) handles comments, line continuations (with the escape directive's character),
 * the `# escape=` and `# syntax=` directives, JSON (exec) and shell forms, and flags
 * (`--from=`, `--chown=`, `--chmod=`, `--platform=`, `--link`...); it never expands variables:
 * the builder expands each instruction when it runs it, with the ARG/ENV values of that point
 * (expand.ts: Docker's shell-word rules: $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word},
 * ${VAR+word}, escapes, single and double quotes, as moby's shell lexer does for each
 * instruction that expands).
 *
 * Errors are invalid-parameter BerthErrors naming the line: `Dockerfile parse error line 7:
 * unknown instruction: RUNN`.
 */

export type Keyword =
  | 'FROM' | 'RUN' | 'CMD' | 'LABEL' | 'MAINTAINER' | 'EXPOSE' | 'ENV' | 'ADD' | 'COPY'
  | 'ENTRYPOINT' | 'VOLUME' | 'USER' | 'WORKDIR' | 'ARG' | 'ONBUILD' | 'STOPSIGNAL'
  | 'HEALTHCHECK' | 'SHELL';

export interface Instruction {
  readonly keyword: Keyword;
  /** 1-based line where the instruction starts. */
  readonly line: number;
  /** The instruction as written, continuations joined (for messages: `Step 2/5 : RUN ...`). */
  readonly original: string;
  /** `--name=value` flags before the arguments (`--link` alone: value ''). */
  readonly flags: Readonly<Record<string, string>>;
  /** JSON form: the array; shell form: the whole argument text as one element (unexpanded).
   *  ENV/LABEL/ARG: `key=value` pairs split into elements ('key=value' each, quotes kept for
   *  expand.ts); the old `ENV key value` form becomes one 'key=value'. */
  readonly args: readonly string[];
  readonly json: boolean;
  /** ONBUILD: the wrapped instruction. HEALTHCHECK: CMD/NONE with its flags in `flags`. */
  readonly inner?: Instruction;
}

export interface Stage {
  /** 0-based position. */
  readonly index: number;
  /** `AS name`, lower-cased; undefined when unnamed. */
  readonly name?: string;
  /** The FROM instruction (args[0]: the image, unexpanded; `scratch` allowed). */
  readonly from: Instruction;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** `\` unless `# escape=` says '`'. */
  readonly escape: string;
  readonly syntax?: string;
  /** ARGs before the first FROM (usable in FROM lines, and in stages that re-declare them). */
  readonly metaArgs: readonly Instruction[];
  readonly stages: readonly Stage[];
}
