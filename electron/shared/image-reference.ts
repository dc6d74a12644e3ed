/**
 * Image references as Docker spells them — `[registry[:port]/]path[:tag][@digest]` — checked
 * the same way in the renderer (before it sends) and in the main process (before the engine
 * sees it). The grammar is distribution's `reference` package:
 *
 *   path component  [a-z0-9]+ joined by `.`, `_`, `__` or runs of `-`   (lowercase only)
 *   registry        a host name or [IPv6] with an optional :port; it is the first component
 *                   when that holds a `.` or a `:` or is `localhost`
 *   tag             [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest          algorithm:hex (at least 32 hex digits)
 *
 * Unlike Docker, a first component with capitals and no `.`/`:` (`UPPER/case`) is refused as
 * a capitalised name rather than tried as a registry host: that is nearly always a typo.
 * Pure: imports nothing, so every layer may use it.
 */
export interface ImageReference {
  /** Registry and path, without tag or digest (`127.0.0.1:5000/team/app`). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export type ReferenceCheck = { readonly ok: true; readonly reference: ImageReference } | { readonly ok: false; readonly message: string };

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const MAX_NAME = 255;

const EXPECTED = 'expected [registry[:port]/]name[:tag][@digest], e.g. busybox:latest or 127.0.0.1:5000/team/app:1.0';

export function checkImageReference(input: string): ReferenceCheck {
  const bad = (why: string): ReferenceCheck => ({ ok: false, message: `"${input}" is not a valid image reference: ${why}` });
  if (input.trim() === '') return { ok: false, message: 'Enter an image reference, e.g. busybox:latest or 127.0.0.1:5000/team/app:1.0' };
  if (/\s/.test(input)) return bad('it must not contain spaces');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return bad('the digest after @ must look like sha256:<64 hex digits>');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return bad('a tag may hold letters, digits, _ . and - (at most 128, not starting with . or -)');
  }
  if (rest === '') return bad(`the name is missing (${EXPECTED})`);
  if (rest.length > MAX_NAME) return bad(`the name is longer than ${MAX_NAME} characters`);
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  const hasDomain = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasDomain && !DOMAIN.test(first)) return bad(`"${first}" is not a registry host[:port]`);
  const path = hasDomain ? parts.slice(1) : parts;
  for (const part of path) {
    if (part === '') return bad(`it has an empty name component (${EXPECTED})`);
    if (part !== part.toLowerCase()) return bad('repository names must be lowercase');
    if (!PATH_COMPONENT.test(part)) return bad(`"${part}" may hold only lowercase letters, digits and single . _ or - between them`);
  }
  return { ok: true, reference: { repository: rest, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) } };
}

/** The reference as text, with `:latest` when it names neither tag nor digest (as `docker pull`). */
export function referenceText(ref: ImageReference): string {
  if (ref.digest !== undefined) return `${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}@${ref.digest}`;
  return `${ref.repository}:${ref.tag ?? 'latest'}`;
}

/** Whether `tag` is a valid tag on its own (the Tag dialog). */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
