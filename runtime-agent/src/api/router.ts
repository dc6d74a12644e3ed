import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable, Writable } from 'node:stream';
import { invalid } from '../errors.js';

/**
 * A small router for the Docker Engine API. Each domain module registers its own routes
 * (`api/routes/*.ts`); `api/server.ts` only dispatches. Paths use `:name` parameters; a
 * parameter written `:name*` swallows the rest of the path (image names contain slashes).
 */
export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The API version the client asked for (from the `/v1.xx` prefix), or the server's. */
  readonly apiVersion: string;
  body(): Promise<Buffer>;
  /** The body parsed as JSON; an empty body is `{}`; malformed JSON is a 400. */
  json<T>(): Promise<T>;
}

/**
 * A stream the client may hijack (attach, exec start). When the client sent
 * `Upgrade: tcp` the connection becomes raw after `101 UPGRADED`; otherwise the same
 * handler streams an ordinary 200 response. Handlers cannot tell the difference.
 */
export interface HijackedStream {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly apiVersion: string;
  readonly upgraded: boolean;
  /** The request body (read off the raw socket when upgraded). */
  body(): Promise<Buffer>;
  json<T>(): Promise<T>;
  /** Sends the success head; `output` and `input` may be used only after this. */
  begin(contentType: string): void;
  /** Where the handler writes the stream. */
  readonly output: Writable;
  /** What the client sends after the head (its stdin); ends on half-close. */
  readonly input: Readable;
  /** Ends the stream: half-closes the socket (upgraded) or ends the response. */
  finish(): void;
  /** Resolves when the client goes away or the stream is finished. */
  readonly closed: Promise<void>;
  readonly socket: Duplex;
}

export type Handler = (ctx: RequestContext) => Promise<void>;
export type HijackHandler = (stream: HijackedStream) => Promise<void>;

interface Route {
  method: Method;
  segments: string[];
  handler: Handler | undefined;
  hijack: HijackHandler | undefined;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  private readonly routes: Route[] = [];

  get(path: string, handler: Handler): void {
    this.add('GET', path, handler);
  }
  head(path: string, handler: Handler): void {
    this.add('HEAD', path, handler);
  }
  post(path: string, handler: Handler): void {
    this.add('POST', path, handler);
  }
  put(path: string, handler: Handler): void {
    this.add('PUT', path, handler);
  }
  delete(path: string, handler: Handler): void {
    this.add('DELETE', path, handler);
  }
  /** A route whose response may be a hijacked stream (attach, exec start). */
  hijack(method: Method, path: string, handler: HijackHandler): void {
    this.routes.push({ method, segments: split(path), handler: undefined, hijack: handler });
  }

  private add(method: Method, path: string, handler: Handler): void {
    this.routes.push({ method, segments: split(path), handler, hijack: undefined });
  }

  /** Finds the route for a path; `'method'` when the path exists under another method. */
  match(method: string, path: string): Match | 'method' | undefined {
    const parts = split(path);
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET' && !this.hasExact('HEAD', route.segments))) {
        return { route, params };
      }
    }
    return pathMatched ? 'method' : undefined;
  }

  private hasExact(method: Method, segments: string[]): boolean {
    return this.routes.some((r) => r.method === method && r.segments.join('/') === segments.join('/'));
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i] as string;
    if (seg.startsWith(':') && seg.endsWith('*')) {
      // Greedy parameter: takes as many parts as leave the rest of the pattern matchable.
      const rest = pattern.slice(i + 1);
      const take = parts.length - i - rest.length;
      if (take < 1) return undefined;
      params[seg.slice(1, -1)] = decode(parts.slice(i, i + take).join('/'));
      const tail = matchSegments(rest, parts.slice(i + take));
      if (!tail) return undefined;
      return { ...params, ...tail };
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.startsWith(':')) params[seg.slice(1)] = decode(part);
    else if (seg !== part) return undefined;
  }
  return parts.length === pattern.length ? params : undefined;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(`malformed path segment "${part}"`);
  }
}

/** Parses a JSON body; empty means `{}`. */
export function parseJsonBody<T>(buf: Buffer): T {
  if (buf.length === 0) return {} as T;
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (err) {
    throw invalid(`invalid JSON in request body: ${err instanceof Error ? err.message : String(err)}`);
  }
}
