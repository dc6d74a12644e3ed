import { invalid } from '../errors.js';
import { parseDigest, type Digest } from './digest.js';

/**
 * Docker image references: parsing, normalisation and the familiar form.
 *
 * Grammar (distribution/reference):
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component { "/" path-component }
 *   domain     := host [ ":" port ]        (a DNS name, IPv4 or [IPv6])
 *   path-comp  := [a-z0-9]+ { separator [a-z0-9]+ }, separator := "." | "_" | "__" | "-"+
 *   tag        := [\w][\w.-]{0,127}
 *
 * Normalisation: `busybox` → `docker.io/library/busybox`; a first component is a domain when
 * it is `localhost` or holds a `.` or `:` (or is not lowercase); `index.docker.io` is
 * `docker.io`. The familiar form drops `docker.io/` and `library/` again: `busybox:latest`.
 */
export interface ImageReference {
  readonly domain: string;
  /** The repository path below the domain (`library/busybox`). */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const NAME_MAX = 255;

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const HOST = `(?:${DOMAIN_NAME}|\\[(?:[a-fA-F0-9:]+)\\])`;
const DOMAIN_AND_PORT = `${HOST}(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const NAME = `(?:${DOMAIN_AND_PORT}/)?${REMOTE_NAME}`;

const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_RE = new RegExp(`^(?:(${DOMAIN_AND_PORT})/)?(${REMOTE_NAME})$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const ID_RE = /^[a-f0-9]{64}$/;

/**
 * Parses a reference as the docker CLI gives it and normalises it (Docker's
 * ParseNormalizedNamed). Throws invalid-parameter with Docker's messages.
 */
export function parseNormalizedNamed(input: string): ImageReference {
  if (ID_RE.test(input)) {
    throw invalid(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDomain(input);
  const colon = remainder.indexOf(':');
  const remote = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw invalid(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  return parseCanonical(`${domain}/${remainder}`);
}

/** Parses a fully qualified reference string (`docker.io/library/busybox:latest`). */
export function parseCanonical(input: string): ImageReference {
  const m = REFERENCE_RE.exec(input);
  if (!m) {
    if (input === '') throw invalid('repository name must have at least one component');
    if (REFERENCE_RE.test(input.toLowerCase())) throw invalid('repository name must be lowercase');
    throw invalid('invalid reference format');
  }
  const name = NAME_RE.exec(m[1] as string);
  const domain = name?.[1] ?? '';
  const path = name?.[2] ?? (m[1] as string);
  if (path.length > NAME_MAX) throw invalid(`repository name must not be more than ${NAME_MAX} characters`);
  const ref: { domain: string; path: string; tag?: string; digest?: Digest } = { domain, path };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) ref.digest = parseDigest(m[3]);
  return ref;
}

function splitDomain(input: string): { domain: string; remainder: string } {
  const slash = input.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_PREFIX + input };
  const first = input.slice(0, slash);
  let domain: string;
  let remainder: string;
  if (first === 'localhost') [domain, remainder] = [first, input.slice(slash + 1)];
  else if (first === LEGACY_DOMAIN) [domain, remainder] = [DEFAULT_DOMAIN, input.slice(slash + 1)];
  else if (/[.:]/.test(first) || first.toLowerCase() !== first) [domain, remainder] = [first, input.slice(slash + 1)];
  else [domain, remainder] = [DEFAULT_DOMAIN, input];
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return { domain, remainder };
}

/** `docker.io/library/busybox` — the repository name without tag or digest. */
export function nameOf(ref: ImageReference): string {
  return ref.domain === '' ? ref.path : `${ref.domain}/${ref.path}`;
}

/** The full string: `docker.io/library/busybox:latest`, `localhost:5000/a@sha256:...`. */
export function refString(ref: ImageReference): string {
  return nameOf(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The name as Docker shows it: `busybox`, `user/app`, `localhost:5000/a/b`. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return nameOf(ref);
  if (ref.path.startsWith(OFFICIAL_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return ref.path;
}

/** The reference as Docker shows it: `busybox:latest`, `busybox@sha256:...`. */
export function familiarString(ref: ImageReference): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** Adds `:latest` to a name that has neither tag nor digest. */
export function tagNameOnly(ref: ImageReference): ImageReference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

export function withTag(ref: ImageReference, tag: string): ImageReference {
  if (!TAG_RE.test(tag)) throw invalid(`invalid tag format: "${tag}"`);
  return { domain: ref.domain, path: ref.path, tag };
}

/**
 * The reference Docker keeps in its store for a user-given one: tagged (`:latest` added)
 * or, when a digest is present, digested only (the tag is dropped).
 */
export function storeReference(ref: ImageReference): ImageReference {
  if (ref.digest !== undefined) return { domain: ref.domain, path: ref.path, digest: ref.digest };
  return tagNameOnly(ref);
}

/**
 * The `repo` and `tag` query parameters of tag and import (Docker's RepoTagReference):
 * undefined when repo is empty; a digest is refused; the tag defaults to `latest`.
 */
export function repoTagReference(repo: string, tag: string): ImageReference | undefined {
  if (repo === '') return undefined;
  const ref = parseNormalizedNamed(repo);
  if (ref.digest !== undefined) throw invalid('cannot import digest reference');
  const tagged = tag !== '' ? withTag(ref, tag) : tagNameOnly(ref);
  if (familiarName(tagged) === 'sha256') {
    throw invalid('refusing to create an ambiguous tag using digest algorithm as name');
  }
  return tagged;
}

/** Whether a string could be (a prefix of) an image ID: hex, optionally `sha256:`-prefixed. */
export function isIdPrefix(value: string): boolean {
  return /^(?:sha256:)?[a-f0-9]{1,64}$/.test(value);
}
