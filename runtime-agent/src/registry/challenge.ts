/**
 * `WWW-Authenticate` challenges (RFC 7235) as registries send them on 401:
 *
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
 *   Basic realm="Registry Realm"
 *
 * Schemes are lower-cased; parameter names too; values are unquoted (`\"` unescaped). A header
 * may carry several challenges (`Basic realm="x", Bearer realm="y"`): all are returned, in order.
 */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const challenges: Challenge[] = [];
  for (const value of values) challenges.push(...parseOne(value));
  return challenges;
}

/** The challenge berthd answers: Bearer if offered, else Basic, else none. */
export function preferredChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

function parseOne(text: string): Challenge[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /[\s,]/.test(text[i] as string)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < text.length && /[A-Za-z0-9!#$%&'*+.^_`|~-]/.test(text[i] as string)) i++;
    return text.slice(start, i);
  };
  while (i < text.length) {
    skipSpace();
    const word = token();
    if (word === '') {
      i++;
      continue;
    }
    // `name=` continues the current challenge's parameters; a bare word starts a new challenge.
    while (i < text.length && text[i] === ' ') i++;
    const current = out[out.length - 1];
    if (text[i] === '=' && current !== undefined) {
      i++;
      while (i < text.length && text[i] === ' ') i++;
      current.params[word.toLowerCase()] = text[i] === '"' ? quoted() : bare();
    } else {
      out.push({ scheme: word.toLowerCase(), params: {} });
    }
  }
  return out;

  /** An unquoted value: up to the next comma or space (lenient: URLs are not tokens). */
  function bare(): string {
    const start = i;
    while (i < text.length && !/[\s,]/.test(text[i] as string)) i++;
    return text.slice(start, i);
  }

  function quoted(): string {
    let value = '';
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < text.length) i++;
      value += text[i];
      i++;
    }
    i++; // closing quote
    return value;
  }
}
