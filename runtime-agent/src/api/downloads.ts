/**
 * What a download over the API needs from HTTP: one byte range of a file (`Range`, RFC 9110
 * §14) and a `Content-Disposition` whose file name cannot break the header or a client's path.
 */

export type RangeRequest =
  | { readonly kind: 'whole' }
  | { readonly kind: 'range'; readonly range: { readonly start: number; readonly end: number } }
  | { readonly kind: 'unsatisfiable'; readonly reason: string };

/**
 * One `Range: bytes=…` header against a file of `size` bytes (RFC 9110 §14): `a-b`, `a-` or
 * the suffix `-n`; `b` past the end is clipped. Several ranges, another unit or a malformed
 * value are refused with a reason rather than ignored, so a client never takes a whole file
 * for the part it asked for.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined || header.trim() === '') return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m) {
    const reason = header.includes(',')
      ? `only one range is served at a time, not "${header}"`
      : `malformed Range "${header}": use bytes=START-END, bytes=START- or bytes=-LENGTH`;
    return { kind: 'unsatisfiable', reason };
  }
  const [first, last] = [m[1] as string, m[2] as string];
  const outside = `Range "${header}" is outside the file (${size} bytes)`;
  if (first === '') {
    const suffix = Number(last);
    if (last === '' || suffix === 0 || size === 0) return { kind: 'unsatisfiable', reason: `${outside}: ask for bytes=-N with N ≥ 1 of a non-empty file` };
    return { kind: 'range', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return { kind: 'unsatisfiable', reason: `malformed Range "${header}": the end comes before the start` };
  if (start >= size) {
    return { kind: 'unsatisfiable', reason: size === 0 ? `${outside}: the file is empty` : `${outside}: start below ${size}` };
  }
  return { kind: 'range', range: { start, end } };
}

/**
 * Content-Disposition for a download: an ASCII `filename` with anything risky replaced (quotes,
 * slashes, control characters, a leading dot) and the exact name as RFC 8187 `filename*`.
 */
export function attachment(name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9._ -]/g, '_').replace(/^[.\s]/, '_').slice(0, 200) || 'download';
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
