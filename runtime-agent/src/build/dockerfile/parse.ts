import { invalid } from '../../errors.js';
import { parseInstruction, stageNameOf } from './instruction.js';
import { readLogicalLines } from './logical-lines.js';
import { parseError } from './parse-error.js';
import type { Dockerfile, Instruction, Stage } from './types.js';

/**
 * parseDockerfile: Dockerfile text -> stages of instructions (types.ts). Reads the directives,
 * comments and continuations (logical-lines.ts), parses each instruction (instruction.ts),
 * then groups them: ARGs before the first FROM are the meta args, every FROM starts a stage.
 * Throws invalid-parameter BerthErrors naming the line.
 */
export function parseDockerfile(text: string): Dockerfile {
  const source = readLogicalLines(text);
  const instructions = source.lines.map((logical) =>
    parseInstruction(logical.text, logical.line, source.escape),
  );
  if (instructions.length === 0) throw invalid('the Dockerfile cannot be empty');

  const metaArgs: Instruction[] = [];
  const stages: { index: number; name?: string; from: Instruction; instructions: Instruction[] }[] = [];
  const stageNames = new Set<string>();
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const name = stageNameOf(instruction);
      if (name !== undefined) {
        if (stageNames.has(name)) throw parseError(instruction.line, `duplicate stage name "${name}"`);
        stageNames.add(name);
      }
      const stage = { index: stages.length, from: instruction, instructions: [] };
      stages.push(name === undefined ? stage : { ...stage, name });
      continue;
    }
    const current = stages[stages.length - 1];
    if (current !== undefined) current.instructions.push(instruction);
    else if (instruction.keyword === 'ARG') metaArgs.push(instruction);
    else throw parseError(instruction.line, 'no build stage in current context');
  }
  if (stages.length === 0) {
    throw invalid('the Dockerfile has no FROM instruction: it contains no stage to build');
  }
  const built: Stage[] = stages;
  return {
    escape: source.escape,
    ...(source.syntax === undefined ? {} : { syntax: source.syntax }),
    metaArgs,
    stages: built,
  };
}
