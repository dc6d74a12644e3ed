import { describe, expect, it } from 'vitest';
import {
  buildErrorResponse,
  buildQuery,
  buildResponse,
  parseQuery,
  RCODE_BADVERS,
  RCODE_FORMERR,
  RCODE_NOERROR,
  RCODE_NOTIMP,
  RCODE_NXDOMAIN,
  RCODE_REFUSED,
  RCODE_SERVFAIL,
  readName,
  TYPE_A,
  TYPE_AAAA,
  TYPE_OPT,
  type Query,
} from '../../../runtime-agent/src/network/dns/message.js';

interface Record {
  name: string;
  type: number;
  ttl: number;
  data: Buffer;
}

/** A small response decoder for the assertions (berthd itself never parses responses). */
function decode(buf: Buffer) {
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((offset) => buf.readUInt16BE(offset));
  let pos = 12;
  const questions: string[] = [];
  for (let i = 0; i < (counts[0] ?? 0); i++) {
    const name = readName(buf, pos);
    questions.push(name.labels.join('.'));
    pos = name.next + 4;
  }
  const records: Record[] = [];
  for (let i = 0; i < (counts[1] ?? 0) + (counts[2] ?? 0) + (counts[3] ?? 0); i++) {
    const name = readName(buf, pos);
    const length = buf.readUInt16BE(name.next + 8);
    records.push({
      name: name.labels.join('.'),
      type: buf.readUInt16BE(name.next),
      ttl: buf.readUInt32BE(name.next + 4),
      data: buf.subarray(name.next + 10, name.next + 10 + length),
    });
    pos = name.next + 10 + length;
  }
  expect(pos).toBe(buf.length);
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    ancount: counts[1],
    arcount: counts[3],
    questions,
    answers: records.filter((r) => r.type !== TYPE_OPT),
    opt: records.find((r) => r.type === TYPE_OPT),
  };
}

function parsed(buf: Buffer): Query {
  const result = parseQuery(buf);
  if (!result.ok) throw new Error(`expected a query: ${result.reason}`);
  return result.query;
}

const header = (id: number, flags: number, qd: number, an: number, ns: number, ar: number): Buffer => {
  const b = Buffer.alloc(12);
  [id, flags, qd, an, ns, ar].forEach((value, i) => b.writeUInt16BE(value, i * 2));
  return b;
};
const name = (...labels: string[]): Buffer =>
  Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
const typeClass = (type: number, cls = 1): Buffer => Buffer.from([type >> 8, type & 0xff, cls >> 8, cls & 0xff]);

describe('DNS query parsing', () => {
  it('round-trips a built query', () => {
    const query = parsed(buildQuery(0xbeef, 'Web.Example.', TYPE_A));
    expect(query).toEqual({
      id: 0xbeef,
      opcode: 0,
      recursionDesired: true,
      checkingDisabled: false,
      question: { labels: ['Web', 'Example'], type: TYPE_A, class: 1 },
      edns: undefined,
    });
  });

  it('reads EDNS from an OPT record: payload size, version, DO bit', () => {
    expect(parsed(buildQuery(1, 'web', TYPE_A, { edns: true })).edns).toEqual({ udpSize: 1232, version: 0, dnssecOk: false });
    const opt = Buffer.from([0, 0, 41, 0x10, 0x00, 0, 1, 0x80, 0, 0, 0]); // size 4096, version 1, DO
    const query = parsed(Buffer.concat([header(2, 0x0100, 1, 0, 0, 1), name('web'), typeClass(TYPE_A), opt]));
    expect(query.edns).toEqual({ udpSize: 4096, version: 1, dnssecOk: true });
    const tiny = Buffer.from([0, 0, 41, 0x00, 0x10, 0, 0, 0, 0, 0, 0]); // claims 16 bytes
    expect(parsed(Buffer.concat([header(3, 0, 1, 0, 0, 1), name('web'), typeClass(TYPE_A), tiny])).edns?.udpSize).toBe(512);
  });

  it('skips other additional and authority records, compressed owner names included', () => {
    const pointer = Buffer.from([0xc0, 12]);
    const txt = Buffer.concat([pointer, typeClass(16), Buffer.from([0, 0, 0, 0, 0, 2, 1, 0x61])]);
    const query = parsed(Buffer.concat([header(4, 0, 1, 0, 1, 1), name('web'), typeClass(TYPE_A), txt, txt]));
    expect(query.question.labels).toEqual(['web']);
  });

  it('follows compression pointers, backwards only', () => {
    // "example.com" at 12, then "mail" + pointer to 12, then a pointer to that name
    const buf = Buffer.concat([header(0, 0, 0, 0, 0, 0), name('example', 'com'), Buffer.from([4]), Buffer.from('mail'), Buffer.from([0xc0, 12, 0xc0, 25])]);
    expect(readName(buf, 12)).toEqual({ labels: ['example', 'com'], next: 25 });
    expect(readName(buf, 25)).toEqual({ labels: ['mail', 'example', 'com'], next: 32 });
    expect(readName(buf, 32)).toEqual({ labels: ['mail', 'example', 'com'], next: 34 });
    const loop = Buffer.concat([header(0, 0, 0, 0, 0, 0), Buffer.from([0xc0, 12])]);
    expect(() => readName(loop, 12)).toThrow(/backwards/);
  });

  it.each([
    ['an empty packet', Buffer.alloc(0)],
    ['a packet shorter than a header', Buffer.alloc(11)],
    ['a response', Buffer.concat([header(5, 0x8000, 1, 0, 0, 0), name('web'), typeClass(TYPE_A)])],
  ])('drops %s without a reply', (_what, buf) => {
    const result = parseQuery(buf);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reply).toBeUndefined();
  });

  const question = Buffer.concat([name('web'), typeClass(TYPE_A)]);
  it.each([
    ['no question', Buffer.concat([header(7, 0, 0, 0, 0, 0)])],
    ['two questions', Buffer.concat([header(7, 0, 2, 0, 0, 0), question, question])],
    ['answers in a query', Buffer.concat([header(7, 0, 1, 1, 0, 0), question])],
    ['a label past the end', Buffer.concat([header(7, 0, 1, 0, 0, 0), Buffer.from([5, 0x61, 0x62])])],
    ['a name without its terminator', Buffer.concat([header(7, 0, 1, 0, 0, 0), Buffer.from([1, 0x61])])],
    ['a reserved label type', Buffer.concat([header(7, 0, 1, 0, 0, 0), Buffer.from([0x41, 0]), typeClass(TYPE_A)])],
    ['a forward pointer', Buffer.concat([header(7, 0, 1, 0, 0, 0), Buffer.from([0xc0, 20]), typeClass(TYPE_A)])],
    ['a self pointer', Buffer.concat([header(7, 0, 1, 0, 0, 0), Buffer.from([0xc0, 12]), typeClass(TYPE_A)])],
    ['a name over 255 octets', Buffer.concat([header(7, 0, 1, 0, 0, 0), name(...Array<string>(5).fill('a'.repeat(60))), typeClass(TYPE_A)])],
    ['a truncated question', Buffer.concat([header(7, 0, 1, 0, 0, 0), name('web'), Buffer.from([0, 1, 0])])],
    ['trailing bytes', Buffer.concat([header(7, 0, 1, 0, 0, 0), question, Buffer.from([0])])],
    ['a missing additional record', Buffer.concat([header(7, 0, 1, 0, 0, 1), question])],
    ['two OPT records', Buffer.concat([header(7, 0, 1, 0, 0, 2), question, ...Array<Buffer>(2).fill(Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]))])],
    ['an OPT record owned by a name', Buffer.concat([header(7, 0, 1, 0, 0, 1), question, name('x'), Buffer.from([0, 41, 4, 0, 0, 0, 0, 0, 0, 0])])],
    ['record data past the end', Buffer.concat([header(7, 0, 1, 0, 0, 1), question, Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 9, 1])])],
  ])('answers FORMERR for %s', (_what, buf) => {
    const result = parseQuery(buf);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reply).toEqual({ id: 7, opcode: 0, rcode: RCODE_FORMERR });
  });

  it('answers NOTIMP for other opcodes', () => {
    const result = parseQuery(Buffer.concat([header(8, 2 << 11, 1, 0, 0, 0), question]));
    expect(!result.ok && result.reply).toEqual({ id: 8, opcode: 2, rcode: RCODE_NOTIMP });
  });

  it('returns error values, never throws, for every truncation and random bytes', () => {
    const valid = buildQuery(9, 'a.b.example.com', TYPE_AAAA, { edns: true });
    for (let length = 0; length < valid.length; length++) {
      expect(parseQuery(valid.subarray(0, length)).ok).toBe(false);
    }
    let seed = 42;
    const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 5000; i++) {
      const buf = Buffer.from(Array.from({ length: 12 + (i % 80) }, random));
      buf.writeUInt16BE(1, 4); // one question, so the name parser is reached
      buf[2] = (buf[2] as number) & 0x07; // a standard query
      expect(() => parseQuery(buf)).not.toThrow();
    }
  });
});

describe('DNS response building', () => {
  it('answers A records with a pointer to the question, the query ID, AA, RA and TTL', () => {
    const query = parsed(buildQuery(0x1234, 'WeB', TYPE_A));
    const response = decode(buildResponse(query, { rcode: RCODE_NOERROR, addresses: ['10.0.0.2', 'fd00::2', '10.0.0.3'], ttl: 600, authoritative: true }));
    expect(response).toMatchObject({ id: 0x1234, qr: true, aa: true, tc: false, rd: true, ra: true, rcode: 0, ancount: 2, questions: ['WeB'] });
    expect(response.answers.map((a) => [a.name, a.type, a.ttl, [...a.data].join('.')])).toEqual([
      ['WeB', TYPE_A, 600, '10.0.0.2'],
      ['WeB', TYPE_A, 600, '10.0.0.3'],
    ]);
    expect(buildResponse(query, { rcode: 0, addresses: ['10.0.0.2'] }).subarray(-16, -14)).toEqual(Buffer.from([0xc0, 12]));
  });

  it('encodes AAAA records, dotted-quad and zone forms included', () => {
    const query = parsed(buildQuery(1, 'web', TYPE_AAAA));
    const response = decode(buildResponse(query, { rcode: 0, addresses: ['fd00::1:2', '::ffff:1.2.3.4', '10.0.0.1', 'fe80::1%eth0'] }));
    expect(response.answers.map((a) => a.data.toString('hex'))).toEqual([
      'fd000000000000000000000000010002',
      '00000000000000000000ffff01020304',
      'fe800000000000000000000000000001',
    ]);
  });

  it.each([
    ['NXDOMAIN', RCODE_NXDOMAIN],
    ['SERVFAIL', RCODE_SERVFAIL],
    ['REFUSED', RCODE_REFUSED],
  ])('builds %s with the question and no answers', (_name, rcode) => {
    const response = decode(buildResponse(parsed(buildQuery(77, 'x.y', TYPE_A)), { rcode }));
    expect(response).toMatchObject({ id: 77, qr: true, aa: false, rcode, ancount: 0, questions: ['x.y'] });
  });

  it('truncates to the size limit and sets TC', () => {
    const query = parsed(buildQuery(5, 'many', TYPE_A));
    const addresses = Array.from({ length: 60 }, (_, i) => `10.0.${i}.1`);
    const buf = buildResponse(query, { rcode: 0, addresses, maxLength: 512 });
    expect(buf.length).toBeLessThanOrEqual(512);
    const response = decode(buf);
    expect(response.tc).toBe(true);
    expect(response.ancount).toBe(Math.floor((512 - 12 - 10) / 16));
    expect(decode(buildResponse(query, { rcode: 0, addresses })).ancount).toBe(60);
  });

  it('adds an OPT record when the query had one, and BADVERS as an extended RCODE', () => {
    const query = parsed(buildQuery(6, 'web', TYPE_A, { edns: true }));
    const response = decode(buildResponse(query, { rcode: 0, addresses: ['10.0.0.2'] }));
    expect(response.arcount).toBe(1);
    expect(response.opt).toMatchObject({ name: '', type: TYPE_OPT, ttl: 0 });
    const badvers = decode(buildResponse(query, { rcode: RCODE_BADVERS }));
    expect(badvers.rcode).toBe(0);
    expect(badvers.opt?.ttl).toBe(0x01000000);
  });

  it('builds a header-only error response', () => {
    expect(decode(buildErrorResponse(9, 0, RCODE_FORMERR))).toMatchObject({ id: 9, qr: true, rcode: RCODE_FORMERR, questions: [] });
  });
});
