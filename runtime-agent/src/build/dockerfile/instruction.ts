import { extractFlagWords, parseFlags } from './flags.js';
import { checkHealthcheckFlags, checkHealthcheckType, splitHealthcheckType } from './healthcheck.js';
import { InstructionError, parseError } from './parse-error.js';
import type { Instruction, Keyword } from './types.js';
import { splitOnWhitespace, splitRawWords } from './words.js';

/**
 * One logical line -> one Instruction: the keyword (case-insensitive), its flags, and its
 * arguments in the form each instruction takes (see types.ts). Nothing is expanded.
 * Argument-count messages are Docker's.
 */

const KEYWORDS: readonly Keyword[] = [
  'FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT',
  'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
];

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

export function parseInstruction(text: string, line: number, escape: string): Instruction {
  try {
    return parseAt(text.trim(), line, escape);
  } catch (err) {
    if (err instanceof InstructionError) throw parseError(line, err.message);
    throw err;
  }
}

function parseAt(original: string, line: number, escape: string): Instruction {
  const [word = '', afterKeyword = ''] = splitOnWhitespace(original, 2);
  const keyword = toKeyword(word);
  const extracted = extractFlagWords(afterKeyword, escape);
  const flags = parseFlags(keyword, extracted.words);
  const rest = extracted.rest.trim();
  const shellForm = (args: readonly string[]): Instruction => ({
    keyword, line, original, flags, args, json: false,
  });
  const either = (form: { args: readonly string[]; json: boolean }): Instruction => ({
    keyword, line, original, flags, ...form,
  });

  switch (keyword) {
    case 'FROM':
      return shellForm(fromWords(rest));
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
      return either(commandForm(keyword, rest));
    case 'SHELL': {
      const form = commandForm(keyword, rest);
      if (!form.json) throw new InstructionError('SHELL requires the arguments to be in JSON form');
      if (form.args.length === 0) throw atLeastOne(keyword);
      return either(form);
    }
    case 'ADD':
    case 'COPY': {
      const form = jsonOr(rest);
      const count = form.json ? form.args.length : splitRawWords(rest, escape).length;
      if (count < 2) {
        throw new InstructionError(
          `${keyword} requires at least two arguments, but only one was provided. ` +
            'Destination could not be determined',
        );
      }
      return either(form);
    }
    case 'VOLUME': {
      const form = jsonOr(rest);
      if (rest === '' || (form.json && form.args.length === 0)) throw atLeastOne(keyword);
      if (form.json && form.args.some((path) => path.trim() === '')) {
        throw new InstructionError('VOLUME specified can not be an empty string');
      }
      return either(form);
    }
    case 'EXPOSE':
    case 'MAINTAINER':
      if (rest === '') throw keyword === 'EXPOSE' ? atLeastOne(keyword) : exactlyOne(keyword);
      return shellForm([rest]);
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
      if (rest === '') throw exactlyOne(keyword);
      return shellForm([rest]);
    case 'ENV':
    case 'LABEL':
      return shellForm(keyValuePairs(keyword, rest, escape));
    case 'ARG':
      return shellForm(argWords(rest, escape));
    case 'ONBUILD': {
      const inner = onbuildTrigger(rest, line, escape);
      return { keyword, line, original, flags, args: [inner.original], json: false, inner };
    }
    case 'HEALTHCHECK': {
      if (rest === '') throw atLeastOne(keyword);
      const { type, rest: command } = splitHealthcheckType(rest);
      checkHealthcheckType(type, command);
      checkHealthcheckFlags(flags);
      if (type === 'NONE') return shellForm([type]);
      const form = jsonOr(command);
      if (form.args.length === 0) throw new InstructionError('Missing command after HEALTHCHECK CMD');
      const inner: Instruction = { keyword: 'CMD', line, original: rest, flags: {}, ...form };
      return { keyword, line, original, flags, args: [type], json: false, inner };
    }
  }
}

function toKeyword(word: string): Keyword {
  const upper = word.toUpperCase();
  const keyword = KEYWORDS.find((candidate) => candidate === upper);
  if (keyword !== undefined) return keyword;
  const near = KEYWORDS.find(
    (candidate) =>
      upper.length >= 3 &&
      Math.abs(candidate.length - upper.length) <= 2 && // else the distance is more than 2
      editDistance(candidate, upper) <= 2,
  );
  throw new InstructionError(`unknown instruction: ${word}${near ? ` (did you mean ${near}?)` : ''}`);
}

/** FROM image [AS name]: the words, checked as Docker does. */
function fromWords(rest: string): string[] {
  const words = splitOnWhitespace(rest);
  if (words.length === 3 && (words[1] as string).toUpperCase() === 'AS') {
    const name = words[2] as string;
    if (!STAGE_NAME.test(name.toLowerCase())) {
      throw new InstructionError(
        `invalid name for build stage: "${name}", name can't start with a number or contain symbols`,
      );
    }
    return words;
  }
  if (words.length !== 1) throw new InstructionError('FROM requires either one or three arguments');
  return words;
}

/** The stage name of a parsed FROM (`AS name`, lower-cased), if it has one. */
export function stageNameOf(from: Instruction): string | undefined {
  return from.args.length === 3 ? (from.args[2] as string).toLowerCase() : undefined;
}

/** RUN / CMD / ENTRYPOINT / SHELL: the JSON array, or the text as one shell-form element. */
function commandForm(keyword: Keyword, rest: string): { args: readonly string[]; json: boolean } {
  const form = jsonOr(rest);
  if (!form.json && rest === '') throw atLeastOne(keyword);
  if (keyword === 'RUN' && form.args.length === 0) throw atLeastOne(keyword);
  return form;
}

/**
 * Docker's JSON-form test: text starting with `[` that parses as a JSON array is the exec
 * form, provided every element is a string; anything else (`["bad json`) is shell form.
 */
function jsonOr(rest: string): { args: readonly string[]; json: boolean } {
  if (rest.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rest);
    } catch {
      parsed = undefined;
    }
    if (Array.isArray(parsed)) {
      if (!parsed.every((element): element is string => typeof element === 'string')) {
        throw new InstructionError('when using JSON array syntax, arrays must be comprised of strings only');
      }
      return { args: parsed, json: true };
    }
  }
  return { args: rest === '' ? [] : [rest], json: false };
}

/**
 * ENV / LABEL: `key=value ...` pairs (each word must hold `=`), or the legacy `KEY value with
 * spaces` form when the first word has no `=`; each pair becomes one 'key=value' element,
 * quotes and escapes kept for expand.ts.
 */
function keyValuePairs(keyword: Keyword, rest: string, escape: string): string[] {
  const words = splitRawWords(rest, escape);
  if (words.length === 0) throw atLeastOne(keyword);
  let pairs: string[];
  if (!(words[0] as string).includes('=')) {
    const parts = splitOnWhitespace(rest, 2);
    if (parts.length < 2) throw new InstructionError(`${keyword} must have two arguments`);
    pairs = [`${parts[0] as string}=${parts[1] as string}`];
  } else {
    for (const word of words) {
      if (!word.includes('=')) {
        throw new InstructionError(
          `Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`,
        );
      }
    }
    pairs = words;
  }
  if (pairs.some((pair) => pair.startsWith('='))) {
    throw new InstructionError(`${keyword} names can not be blank`);
  }
  return pairs;
}

/** ARG name[=default] ...: one element per word, quotes kept. */
function argWords(rest: string, escape: string): string[] {
  const words = splitRawWords(rest, escape);
  if (words.length === 0) throw atLeastOne('ARG');
  if (words.some((word) => word.startsWith('='))) throw new InstructionError('ARG names can not be blank');
  return words;
}

/** ONBUILD's trigger: any instruction but ONBUILD, FROM and MAINTAINER, parsed now. */
function onbuildTrigger(rest: string, line: number, escape: string): Instruction {
  if (rest === '') throw atLeastOne('ONBUILD');
  const trigger = (splitOnWhitespace(rest, 2)[0] as string).toUpperCase();
  if (trigger === 'ONBUILD') {
    throw new InstructionError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  }
  if (trigger === 'FROM' || trigger === 'MAINTAINER') {
    throw new InstructionError(`${trigger} isn't allowed as an ONBUILD trigger`);
  }
  return parseAt(rest, line, escape);
}

const atLeastOne = (keyword: Keyword): InstructionError =>
  new InstructionError(`${keyword} requires at least one argument`);
const exactlyOne = (keyword: Keyword): InstructionError =>
  new InstructionError(`${keyword} requires exactly one argument`);

/** Levenshtein distance, for "did you mean" on a mistyped keyword. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
