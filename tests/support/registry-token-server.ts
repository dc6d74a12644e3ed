import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { runCommand } from './command.js';

/**
 * A small, real token server for a registry configured with `auth: token:` (the Docker
 * registry token spec, as Docker Hub's auth.docker.io speaks it), for tests only.
 *
 *   GET  <realm>?service=S&scope=repository:team/app:pull,push[&scope=...][&offline_token=true]
 *        Authorization: Basic (optional)                 -> { token, access_token, expires_in,
 *   POST <realm>  grant_type=password|refresh_token ...      issued_at[, refresh_token] }
 *
 * Tokens are ES256 JWTs whose header carries the signing certificate (`x5c`); the registry
 * trusts it through `rootcertbundle` (certificatePath). Access granted: every requested action
 * to the configured user; `pull` to anonymous callers only with `anonymousPull`; nothing
 * otherwise (the registry then answers 401 insufficient_scope). Wrong credentials get 401
 * `{"details":"incorrect username or password"}`, as Docker Hub answers. Every request is
 * recorded (requests) so tests can count them.
 */
export interface TokenServerOptions {
  readonly username: string;
  readonly password: string;
  /** Lifetime of issued tokens, `expires_in` (default 300 s). */
  readonly expiresInSeconds?: number;
  /** Grant `pull` to requests without credentials (default false). */
  readonly anonymousPull?: boolean;
}

/** One request the token server answered. */
export interface TokenRequest {
  readonly method: string;
  /** The scopes asked for (`repository:team/app:pull,push`), empty for a bare login check. */
  readonly scopes: readonly string[];
  /** `basic`, `password` or `refresh_token` (POST grant types), or `anonymous`. */
  readonly credentials: 'anonymous' | 'basic' | 'password' | 'refresh_token';
  readonly status: number;
}

export interface TokenServer {
  /** The JWT issuer and the registry's service name, for the registry's configuration. */
  readonly issuer: string;
  readonly service: string;
  /** PEM of the certificate that signs tokens (the registry's rootcertbundle). */
  readonly certificatePath: string;
  readonly requests: readonly TokenRequest[];
  close(): Promise<void>;
}

const ISSUER = 'berth-test-token-issuer';
const SERVICE = 'berth-test-registry';

interface AccessEntry {
  readonly type: string;
  readonly name: string;
  readonly actions: string[];
}

/** Makes a signing key and certificate in `dir` and serves tokens on the Unix socket `socketPath`. */
export async function startTokenServer(dir: string, socketPath: string, opts: TokenServerOptions): Promise<TokenServer> {
  const keyPath = join(dir, 'token-key.pem');
  const certificatePath = join(dir, 'token-cert.pem');
  const made = await runCommand('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certificatePath, '-days', '2', '-subj', `/CN=${ISSUER}`,
  ], { timeoutMs: 20_000 });
  if (made.code !== 0) throw new Error(`openssl could not make the token signing certificate: ${made.stderr.trim()}`);
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = pemBody(await readFile(certificatePath, 'utf8'));
  const requests: TokenRequest[] = [];
  const refreshTokens = new Map<string, string>();

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(err instanceof Error ? err.message : String(err));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    let scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter((s) => s !== '');
    let credentials: TokenRequest['credentials'] = 'anonymous';
    let user: string | undefined;
    let ok = true;
    let offline = url.searchParams.get('offline_token') === 'true';
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      scopes = (form.get('scope') ?? '').split(' ').filter((s) => s !== '');
      offline = form.get('access_type') === 'offline';
      const grant = form.get('grant_type');
      if (grant === 'password') {
        credentials = 'password';
        ok = form.get('username') === opts.username && form.get('password') === opts.password;
        user = opts.username;
      } else if (grant === 'refresh_token') {
        credentials = 'refresh_token';
        user = refreshTokens.get(form.get('refresh_token') ?? '');
        ok = user !== undefined;
      } else {
        return reply(res, 400, { details: `unsupported grant_type ${String(grant)}` }, req, scopes, 'anonymous');
      }
    } else {
      const basic = parseBasic(req.headers.authorization);
      if (basic !== undefined) {
        credentials = 'basic';
        ok = basic.username === opts.username && basic.password === opts.password;
        user = opts.username;
      }
    }
    if (!ok) return reply(res, 401, { details: 'incorrect username or password' }, req, scopes, credentials);
    const access = grant(scopes, user !== undefined, opts.anonymousPull === true);
    const expiresIn = opts.expiresInSeconds ?? 300;
    const token = signToken(key, certDer, user ?? '', access, expiresIn);
    const body: Record<string, unknown> = { token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() };
    if (offline && user !== undefined) {
      const refresh = randomBytes(16).toString('hex');
      refreshTokens.set(refresh, user);
      body.refresh_token = refresh;
    }
    reply(res, 200, body, req, scopes, credentials);
  }

  function reply(res: ServerResponse, status: number, body: unknown, req: IncomingMessage, scopes: string[], credentials: TokenRequest['credentials']): void {
    requests.push({ method: req.method ?? 'GET', scopes, credentials, status });
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    issuer: ISSUER,
    service: SERVICE,
    certificatePath,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The `access` claim: what the registry lets the bearer do, per requested scope. */
function grant(scopes: readonly string[], authenticated: boolean, anonymousPull: boolean): AccessEntry[] {
  const access: AccessEntry[] = [];
  for (const scope of scopes) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || last <= first) continue;
    const wanted = scope.slice(last + 1).split(',').filter((a) => a !== '');
    const actions = authenticated ? wanted : anonymousPull ? wanted.filter((a) => a === 'pull') : [];
    if (actions.length > 0) access.push({ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions });
  }
  return access;
}

function signToken(key: KeyObject, certDer: string, subject: string, access: AccessEntry[], expiresIn: number): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer] };
  const claims = { iss: ISSUER, sub: subject, aud: SERVICE, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  // JOSE wants ECDSA signatures as raw r||s, not DER.
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  if (header === undefined || !header.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
