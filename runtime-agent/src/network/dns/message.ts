/**
 * The DNS wire format (RFC 1035 §4), as much of it as berthd's network resolver needs: parse
 * one query, build the few responses the resolver gives itself. Everything else (answers from
 * the upstream resolvers) is relayed as bytes and never parsed beyond its header.
 *
 * Parsing is strict and never throws: a packet is hostile input, and a malformed one yields a
 * `ParseFailure` saying whether it deserves a FORMERR reply (the header was a readable query)
 * or only silence (too short, or not a query at all — answering responses invites loops).
 *
 *   query      header(12) question{name, type u16, class u16}
 *              [authority RRs, skipped] [additional RRs: at most one OPT (EDNS, RFC 6891)]
 *   response   header(12) the question echoed as sent  A/AAAA answers (name = pointer to 12)
 *              [OPT when the query had one]
 */
import { isIPv4, isIPv6 } from 'node:net';

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const CLASS_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;
/** Extended RCODE 16 (RFC 6891 §6.1.3): only expressible with an OPT record. */
export const RCODE_BADVERS = 16;

const HEADER_LENGTH = 12;
const MAX_NAME_LENGTH = 255; // wire octets, including the length octets and the root label
/** Plain DNS over UDP without EDNS (RFC 1035 §4.2.1). */
export const UDP_PLAIN_LIMIT = 512;
/** The EDNS payload size berthd advertises and honours at most (DNS flag day 2020). */
export const EDNS_UDP_SIZE = 1232;
/** Largest DNS message: TCP's 16-bit length prefix. */
export const MAX_MESSAGE_LENGTH = 65535;

export interface Question {
  /** Labels as sent (case kept, so the echo matches for 0x20 case randomisation). */
  readonly labels: readonly string[];
  readonly type: number;
  readonly class: number;
}

export interface Edns {
  /** Requester's UDP payload size, raised to 512 when it claims less. */
  readonly udpSize: number;
  readonly version: number;
  /** The DO bit (DNSSEC OK). Echoed; berthd's own answers are never signed. */
  readonly dnssecOk: boolean;
}

export interface Query {
  readonly id: number;
  readonly opcode: number;
  readonly recursionDesired: boolean;
  readonly checkingDisabled: boolean;
  readonly question: Question;
  readonly edns: Edns | undefined;
}

export type ParseResult = { readonly ok: true; readonly query: Query } | ParseFailure;

export interface ParseFailure {
  readonly ok: false;
  readonly reason: string;
  /**
   * The RCODE to answer with (FORMERR, NOTIMP), with the query's ID and opcode; undefined when
   * the packet must be dropped without a reply.
   */
  readonly reply: { readonly id: number; readonly opcode: number; readonly rcode: number } | undefined;
}

class Malformed extends Error {}

/**
 * Reads a possibly compressed name at `offset`; returns its labels and the offset after it.
 * Throws on a malformed name (parseQuery, the entry point for untrusted input, does not).
 */
export function readName(buf: Buffer, offset: number): { labels: string[]; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next: number | undefined;
  let wireLength = 1; // the root label
  for (;;) {
    if (pos >= buf.length) throw new Malformed('name runs past the end of the message');
    const len = buf[pos] as number;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) throw new Malformed('truncated compression pointer');
      const target = ((len & 0x3f) << 8) | (buf[pos + 1] as number);
      // Only strictly backwards pointers: that alone rules out loops.
      if (target >= pos) throw new Malformed('compression pointer does not point backwards');
      next ??= pos + 2;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new Malformed('unsupported label type');
    if (len === 0) return { labels, next: next ?? pos + 1 };
    wireLength += len + 1;
    if (wireLength > MAX_NAME_LENGTH) throw new Malformed('name longer than 255 octets');
    if (pos + 1 + len > buf.length) throw new Malformed('label runs past the end of the message');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
}

function u16(buf: Buffer, offset: number): number {
  if (offset + 2 > buf.length) throw new Malformed('message truncated');
  return buf.readUInt16BE(offset);
}

/** Parses a query message. Never throws. */
export function parseQuery(buf: Buffer): ParseResult {
  if (buf.length < HEADER_LENGTH) return { ok: false, reason: 'shorter than a DNS header', reply: undefined };
  if (buf.length > MAX_MESSAGE_LENGTH) return { ok: false, reason: 'longer than a DNS message', reply: undefined };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) return { ok: false, reason: 'a response, not a query', reply: undefined };
  const opcode = (flags >> 11) & 0xf;
  const fail = (reason: string, rcode: number): ParseFailure => ({ ok: false, reason, reply: { id, opcode, rcode } });
  if (opcode !== 0) return fail(`opcode ${opcode} not implemented`, RCODE_NOTIMP);
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  if (qdcount !== 1) return fail(`${qdcount} questions (exactly one is supported)`, RCODE_FORMERR);
  if (ancount !== 0) return fail('a query with answers', RCODE_FORMERR);
  try {
    const name = readName(buf, HEADER_LENGTH);
    const question: Question = { labels: name.labels, type: u16(buf, name.next), class: u16(buf, name.next + 2) };
    let pos = name.next + 4;
    let edns: Edns | undefined;
    for (let i = 0; i < nscount + arcount; i++) {
      const owner = readName(buf, pos);
      const type = u16(buf, owner.next);
      const rdlength = u16(buf, owner.next + 8);
      const end = owner.next + 10 + rdlength;
      if (end > buf.length) throw new Malformed('record data runs past the end of the message');
      if (type === TYPE_OPT) {
        if (i < nscount) throw new Malformed('OPT record in the authority section');
        if (edns) throw new Malformed('more than one OPT record');
        if (owner.labels.length !== 0) throw new Malformed('OPT record not owned by the root');
        const ttl = buf.readUInt32BE(owner.next + 4);
        edns = {
          udpSize: Math.max(UDP_PLAIN_LIMIT, u16(buf, owner.next + 2)),
          version: (ttl >>> 16) & 0xff,
          dnssecOk: (ttl & 0x8000) !== 0,
        };
      }
      pos = end;
    }
    if (pos !== buf.length) throw new Malformed('trailing bytes after the last record');
    return {
      ok: true,
      query: {
        id,
        opcode,
        recursionDesired: (flags & 0x0100) !== 0,
        checkingDisabled: (flags & 0x0010) !== 0,
        question,
        edns,
      },
    };
  } catch (err) {
    if (err instanceof Malformed) return fail(err.message, RCODE_FORMERR);
    throw err;
  }
}

/** Reads only the ID and QR bit of any message (for checking a relayed answer). */
export function peekHeader(buf: Buffer): { id: number; isResponse: boolean; truncated: boolean } | undefined {
  if (buf.length < HEADER_LENGTH) return undefined;
  const flags = buf.readUInt16BE(2);
  return { id: buf.readUInt16BE(0), isResponse: (flags & 0x8000) !== 0, truncated: (flags & 0x0200) !== 0 };
}

export interface ResponseOptions {
  readonly rcode: number;
  /** Addresses answered for the question's name, with the question's type (A or AAAA). */
  readonly addresses?: readonly string[];
  readonly ttl?: number;
  /** Set AA: berthd is the authority for the names it answers itself. */
  readonly authoritative?: boolean;
  /** Size limit (UDP): answers that do not fit are left out and TC set. Default: none. */
  readonly maxLength?: number;
}

function encodeName(labels: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function addressRecord(type: number, ttl: number, address: string): Buffer | undefined {
  let rdata: Buffer | undefined;
  if (type === TYPE_A && isIPv4(address)) rdata = ipv4Bytes(address);
  else if (type === TYPE_AAAA && isIPv6(address)) rdata = ipv6Bytes(address);
  if (!rdata) return undefined;
  const rr = Buffer.alloc(12 + rdata.length);
  rr.writeUInt16BE(0xc000 | HEADER_LENGTH, 0); // the question's name
  rr.writeUInt16BE(type, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(ttl >>> 0, 6);
  rr.writeUInt16BE(rdata.length, 10);
  rdata.copy(rr, 12);
  return rr;
}

function optRecord(edns: Edns, rcode: number): Buffer {
  const rr = Buffer.alloc(11);
  // rr[0] = 0: the root name
  rr.writeUInt16BE(TYPE_OPT, 1);
  rr.writeUInt16BE(EDNS_UDP_SIZE, 3);
  rr[5] = rcode >> 4; // extended RCODE, upper 8 bits
  rr[6] = 0; // version 0
  rr.writeUInt16BE(edns.dnssecOk ? 0x8000 : 0, 7);
  rr.writeUInt16BE(0, 9);
  return rr;
}

/**
 * Builds a response to `query`: the question echoed, then A or AAAA answers for `addresses`
 * (those of the other family are skipped). RA is set: berthd recurses through its upstreams.
 */
export function buildResponse(query: Query, opts: ResponseOptions): Buffer {
  const { question } = query;
  const ttl = opts.ttl ?? 600;
  const answers: Buffer[] = [];
  for (const address of opts.addresses ?? []) {
    const rr = addressRecord(question.type, ttl, address);
    if (rr) answers.push(rr);
  }
  const opt = query.edns ? optRecord(query.edns, opts.rcode) : undefined;
  const q = Buffer.concat([encodeName(question.labels), Buffer.alloc(4)]);
  q.writeUInt16BE(question.type, q.length - 4);
  q.writeUInt16BE(question.class, q.length - 2);

  let room = (opts.maxLength ?? MAX_MESSAGE_LENGTH) - HEADER_LENGTH - q.length - (opt?.length ?? 0);
  let fitting = 0;
  for (const rr of answers) {
    if (rr.length > room) break;
    room -= rr.length;
    fitting++;
  }
  const truncated = fitting < answers.length;
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(query.id, 0);
  header.writeUInt16BE(
    0x8000 |
      (query.opcode << 11) |
      (opts.authoritative ? 0x0400 : 0) |
      (truncated ? 0x0200 : 0) |
      (query.recursionDesired ? 0x0100 : 0) |
      0x0080 |
      (query.checkingDisabled ? 0x0010 : 0) |
      (opts.rcode & 0xf),
    2,
  );
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(fitting, 6);
  header.writeUInt16BE(opt ? 1 : 0, 10);
  return Buffer.concat([header, q, ...answers.slice(0, fitting), ...(opt ? [opt] : [])]);
}

/** A header-only error response (for queries whose question could not be read). */
export function buildErrorResponse(id: number, opcode: number, rcode: number): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8000 | ((opcode & 0xf) << 11) | 0x0080 | (rcode & 0xf), 2);
  return header;
}

/** Builds a query (used by tests and by nothing in berthd itself: it only relays queries). */
export function buildQuery(id: number, name: string, type: number, opts: { edns?: boolean } = {}): Buffer {
  const labels = name.split('.').filter((label) => label !== '');
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(opts.edns ? 1 : 0, 10);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  const opt = opts.edns ? optRecord({ udpSize: EDNS_UDP_SIZE, version: 0, dnssecOk: false }, 0) : Buffer.alloc(0);
  return Buffer.concat([header, encodeName(labels), tail, opt]);
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

function ipv6Bytes(address: string): Buffer {
  let text = address.replace(/%.*$/, ''); // no zone index in a record
  const out = Buffer.alloc(16);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad?.[1]) {
    const b = ipv4Bytes(quad[1]);
    text = `${text.slice(0, -quad[1].length)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
  return out;
}
