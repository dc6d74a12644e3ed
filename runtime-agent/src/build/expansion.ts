import { expandKeyValues, expandWord, expandWords, parseArg } from './dockerfile/expand.js';

/**
 * dockerfile/expand.ts bound to one point of a build: the variables in effect there (a
 * stage's ENV and args in scope, or the meta args for FROM) and the Dockerfile's escape.
 */
export interface Expander {
  word(text: string): string;
  words(text: string): string[];
  keyValues(args: readonly string[]): [string, string][];
  arg(text: string): { key: string; value: string | undefined };
}

export function expanderFor(env: ReadonlyMap<string, string>, escape: string): Expander {
  return {
    word: (text) => expandWord(text, env, escape),
    words: (text) => expandWords(text, env, escape),
    keyValues: (args) => expandKeyValues(args, env, escape),
    arg: (text) => {
      const { name, value } = parseArg(text, env, escape);
      return { key: name, value };
    },
  };
}
