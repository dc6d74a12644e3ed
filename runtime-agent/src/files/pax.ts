/**
 * PAX extended header records (POSIX.1-2001 `x` entries): `<len> <key>=<value>\n`, where len
 * counts the whole record, its own digits included. Values are raw bytes: xattr values such as
 * security.capability are binary, which tar-stream's own PAX encoder (strings, UTF-8) would
 * corrupt, so pack.ts writes PAX headers itself with this.
 */
export type PaxRecord = readonly [key: string, value: Buffer];

export function encodePax(records: readonly PaxRecord[]): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const rest = Buffer.byteLength(` ${key}=`) + value.length + 1;
    let length = rest + String(rest).length;
    if (String(length).length !== String(rest).length) length = rest + String(length).length;
    parts.push(Buffer.from(`${length} ${key}=`), value, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/**
 * Whether tar-stream can write `name` in a plain ustar header (mirrors its encoder: ASCII only,
 * a name of at most 100 bytes after moving leading directories into the 155-byte prefix).
 */
export function fitsUstar(name: string, directory: boolean): boolean {
  let rest = directory && !name.endsWith('/') ? `${name}/` : name;
  if (Buffer.byteLength(rest) !== rest.length) return false; // not ASCII: tar-stream wants PAX
  let prefix = '';
  while (rest.length > 100) {
    const slash = rest.indexOf('/');
    if (slash === -1) return false;
    prefix += prefix ? `/${rest.slice(0, slash)}` : rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  return rest.length <= 100 && prefix.length <= 155;
}

/** A stand-in that fits any ustar field of `max` bytes, for readers that ignore PAX. */
export function ustarStandIn(text: string, max: number): string {
  return text.replace(/[^\x20-\x7e]/g, '_').slice(0, max);
}
