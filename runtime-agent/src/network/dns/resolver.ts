/**
 * What berthd's network resolver answers, independent of sockets. Modelled on Docker's
 * embedded resolver and Podman's aardvark-dns:
 *
 * - A / AAAA of a name `lookup` knows (ASCII case-insensitive, trailing dot ignored): every
 *   address of that family, shuffled for round robin, authoritative, TTL 600 by default. A
 *   known name with no address of the asked family — AAAA on an IPv4-only network — gets an
 *   empty NOERROR, so resolvers don't go on to search domains or treat the name as missing.
 * - Other types of a known name (MX, TXT...): empty NOERROR too. The name is ours; forwarding
 *   would leak container names upstream and bring back an NXDOMAIN, which caches negatively
 *   for every type of the name (RFC 2308), A included.
 * - Everything else: the query, verbatim, to the upstreams (see forward.ts), the answer
 *   relayed verbatim; SERVFAIL when there are no upstreams, none answered in time, or
 *   `maxInFlight` forwards are already pending (memory stays bounded under a flood).
 * - Malformed queries: FORMERR (NOTIMP for other opcodes) when the header is a readable query,
 *   else nothing; EDNS versions above 0 get BADVERS.
 *
 * `lookup` is the only source of truth: it gets the lowercased name without trailing dot, and
 * decides itself about aliases and the network's search domain (`web` and `web.mynet`).
 * `undefined` means "not ours"; an empty array means "ours, no addresses".
 */
import { isIPv4, isIPv6 } from 'node:net';
import { log } from '../../log.js';
import { messageOf } from '../../errors.js';
import { forwardQuery, type Transport, type Upstream } from './forward.js';
import {
  buildErrorResponse,
  buildResponse,
  CLASS_IN,
  EDNS_UDP_SIZE,
  parseQuery,
  RCODE_BADVERS,
  RCODE_NOERROR,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_AAAA,
  UDP_PLAIN_LIMIT,
  type Query,
} from './message.js';

export interface ResolverOptions {
  lookup(name: string): readonly string[] | undefined;
  readonly upstreams: readonly Upstream[];
  /**
   * The upstreams for one client (by its address), overriding `upstreams`; undefined → those.
   * A container started with `--dns` gets its own resolvers this way.
   */
  upstreamsFor?(clientAddress: string): readonly Upstream[] | undefined;
  readonly ttl: number;
  readonly forwardTimeoutMs: number;
  readonly maxInFlight: number;
}

export class Resolver {
  private inFlight = 0;
  private readonly closing = new AbortController();

  constructor(private readonly opts: ResolverOptions) {}

  /**
   * The reply to one message received over `transport` (from `clientAddress`, when known), or
   * undefined to stay silent.
   */
  async answer(packet: Buffer, transport: Transport, clientAddress?: string): Promise<Buffer | undefined> {
    const parsed = parseQuery(packet);
    if (!parsed.ok) {
      log.debug('dns.malformed', { reason: parsed.reason });
      const { reply } = parsed;
      return reply && buildErrorResponse(reply.id, reply.opcode, reply.rcode);
    }
    const { query } = parsed;
    const maxLength = transport === 'tcp' ? undefined : Math.min(query.edns?.udpSize ?? UDP_PLAIN_LIMIT, EDNS_UDP_SIZE);
    if (query.edns && query.edns.version > 0) return buildResponse(query, { rcode: RCODE_BADVERS });

    const addresses = this.local(query);
    if (addresses === 'error') return buildResponse(query, { rcode: RCODE_SERVFAIL });
    if (addresses !== undefined) {
      return buildResponse(query, { rcode: RCODE_NOERROR, addresses, ttl: this.opts.ttl, authoritative: true, maxLength });
    }
    return (await this.forward(packet, transport, this.upstreamsOf(clientAddress))) ?? buildResponse(query, { rcode: RCODE_SERVFAIL });
  }

  /** Abandons pending forwards (their clients get nothing). */
  close(): void {
    this.closing.abort();
  }

  private local(query: Query): string[] | undefined | 'error' {
    const { labels, type } = query.question;
    // The root, and labels holding a dot (not expressible as a name string), are never ours.
    if (query.question.class !== CLASS_IN || labels.length === 0 || labels.some((label) => label.includes('.'))) {
      return undefined;
    }
    const name = labels.join('.').replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
    let known: readonly string[] | undefined;
    try {
      known = this.opts.lookup(name);
    } catch (err) {
      log.warn('dns.lookup-failed', { name, error: messageOf(err) });
      return 'error';
    }
    if (known === undefined) return undefined;
    const family = type === TYPE_A ? isIPv4 : type === TYPE_AAAA ? isIPv6 : undefined;
    return family ? shuffle(known.filter((address) => family(address))) : [];
  }

  private upstreamsOf(clientAddress: string | undefined): readonly Upstream[] {
    if (clientAddress === undefined || !this.opts.upstreamsFor) return this.opts.upstreams;
    try {
      return this.opts.upstreamsFor(clientAddress) ?? this.opts.upstreams;
    } catch (err) {
      log.warn('dns.upstreams-failed', { client: clientAddress, error: messageOf(err) });
      return this.opts.upstreams;
    }
  }

  private async forward(packet: Buffer, transport: Transport, upstreams: readonly Upstream[]): Promise<Buffer | undefined> {
    if (upstreams.length === 0) return undefined;
    if (this.inFlight >= this.opts.maxInFlight) {
      log.debug('dns.forward-limit', { inFlight: this.inFlight });
      return undefined;
    }
    this.inFlight++;
    try {
      return await forwardQuery(packet, upstreams, transport, this.opts.forwardTimeoutMs, this.closing.signal);
    } finally {
      this.inFlight--;
    }
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
