import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../runtime-agent/src/errors.js';
import { sha256Of, type Digest } from '../../runtime-agent/src/images/digest.js';
import { createRegistryClient, type BerthRegistryClient } from '../../runtime-agent/src/registry/client.js';
import type { RegistryCredentials, RepositorySession } from '../../runtime-agent/src/registry/types.js';
import { startRegistry, useRegistry, type TestRegistry } from '../support/registry.js';
import { useDaemon } from '../support/suite.js';

/**
 * The registry client (runtime-agent/src/registry/) against Debian's real docker-registry —
 * plain, htpasswd and token-authenticated (the harness's token server) — and `docker login`
 * through berthd with the real CLI.
 */

const USER = 'berth';
const PASSWORD = 'hunter2-correct';
const GOOD: RegistryCredentials = { username: USER, password: PASSWORD };
const BAD: RegistryCredentials = { username: USER, password: 'wrong-password' };
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function rejection(promise: Promise<unknown>): Promise<BerthError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BerthError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Uploads a config and one layer and puts a manifest naming them under `tag`. */
async function pushSmallImage(session: RepositorySession, tag: string): Promise<{ manifest: Buffer; digest: Digest; layer: Buffer; layerDigest: Digest }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  const layer = randomBytes(300_000);
  const progress: number[] = [];
  const up1 = await session.uploadBlob(Readable.from([config]));
  const up2 = await session.uploadBlob(Readable.from([layer.subarray(0, 100_000), layer.subarray(100_000)]), (n) => progress.push(n));
  expect(up1).toEqual({ digest: sha256Of(config), size: config.length });
  expect(up2).toEqual({ digest: sha256Of(layer), size: layer.length });
  expect(progress.at(-1)).toBe(layer.length);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: up1.digest, size: up1.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: up2.digest, size: up2.size }],
  }));
  const digest = await session.putManifest(tag, OCI_MANIFEST, manifest);
  expect(digest).toBe(sha256Of(manifest));
  return { manifest, digest, layer, layerDigest: up2.digest };
}

describe('registry client against a plain registry', () => {
  let registry: TestRegistry;
  let client: BerthRegistryClient;
  beforeAll(async () => {
    registry = await startRegistry();
    client = createRegistryClient();
  });
  afterAll(async () => {
    client?.close();
    await registry?.stop();
  });

  it('uploads blobs and a manifest, reads them back by tag and by digest, and stats blobs', async () => {
    const session = client.open({ domain: registry.host, path: 'team/app' }, undefined, ['push']);
    const pushed = await pushSmallImage(session, 'v1');

    const byTag = await session.getManifest('v1');
    expect(byTag.digest).toBe(pushed.digest);
    expect(byTag.mediaType).toBe(OCI_MANIFEST);
    expect(byTag.bytes.equals(pushed.manifest)).toBe(true);
    const byDigest = await client.open({ domain: registry.host, path: 'team/app' }, undefined, ['pull']).getManifest(pushed.digest);
    expect(byDigest.bytes.equals(pushed.manifest)).toBe(true);

    expect(await session.statBlob(pushed.layerDigest)).toBe(pushed.layer.length);
    expect(await session.statBlob(sha256Of('not uploaded'))).toBeUndefined();

    const seen: number[] = [];
    const blob = await readAll(await session.fetchBlob(pushed.layerDigest, (n) => seen.push(n)));
    expect(blob.equals(pushed.layer)).toBe(true);
    expect(seen.at(-1)).toBe(pushed.layer.length);
  });

  it('mounts a blob across repositories, and says false when the source lacks it', async () => {
    const source = client.open({ domain: registry.host, path: 'team/source' }, undefined, ['push']);
    const pushed = await pushSmallImage(source, 'v1');
    const target = client.open({ domain: registry.host, path: 'team/target' }, undefined, ['push'], ['team/source']);
    expect(await target.statBlob(pushed.layerDigest)).toBeUndefined();
    expect(await target.mountBlob(pushed.layerDigest, 'team/source')).toBe(true);
    expect(await target.statBlob(pushed.layerDigest)).toBe(pushed.layer.length);
    expect(await target.mountBlob(sha256Of('nowhere'), 'team/source')).toBe(false);
  });

  it('reports an unknown manifest and an unknown blob as not found, in Docker words', async () => {
    const session = client.open({ domain: registry.host, path: 'team/app' }, undefined, ['pull']);
    await pushSmallImage(client.open({ domain: registry.host, path: 'team/app' }, undefined, ['push']), 'exists');
    const missing = await rejection(session.getManifest('nope'));
    expect(missing.code).toBe('not-found');
    expect(missing.message).toBe(`manifest for ${registry.host}/team/app:nope not found: manifest unknown: manifest unknown`);
    const blob = await rejection(session.fetchBlob(sha256Of('absent')));
    expect(blob.code).toBe('not-found');
    expect(blob.message).toMatch(/blob unknown/);
    const noRepo = await rejection(client.open({ domain: registry.host, path: 'never/pushed' }, undefined, ['pull']).getManifest('v1'));
    expect(noRepo.code).toBe('not-found');
    expect(noRepo.message).toBe(`manifest for ${registry.host}/never/pushed:v1 not found: manifest unknown: manifest unknown`);
  });
});

describe('registry client against an htpasswd registry', () => {
  let registry: TestRegistry;
  let client: BerthRegistryClient;
  beforeAll(async () => {
    registry = await startRegistry({ auth: { username: USER, password: PASSWORD } });
    client = createRegistryClient();
  });
  afterAll(async () => {
    client?.close();
    await registry?.stop();
  });

  it('pushes and pulls with the right credentials', async () => {
    const session = client.open({ domain: registry.host, path: 'private/app' }, GOOD, ['push']);
    const pushed = await pushSmallImage(session, 'v1');
    const read = await client.open({ domain: registry.host, path: 'private/app' }, GOOD, ['pull']).getManifest('v1');
    expect(read.digest).toBe(pushed.digest);
  });

  it('is 401 unauthorized without credentials and with a wrong password', async () => {
    const anonymous = await rejection(client.open({ domain: registry.host, path: 'private/app' }, undefined, ['pull']).getManifest('v1'));
    expect(anonymous.code).toBe('unauthorized');
    expect(anonymous.message).toBe('unauthorized: authentication required');
    const wrong = await rejection(client.open({ domain: registry.host, path: 'private/app' }, BAD, ['pull']).statBlob(sha256Of('x')));
    expect(wrong.code).toBe('unauthorized');
  });

  it('logs in with the right password only, and accepts credentials in the `auth` field', async () => {
    await expect(client.login({ ...GOOD, serveraddress: registry.host })).resolves.toEqual({});
    await expect(client.login({ auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64'), serveraddress: `http://${registry.host}/` })).resolves.toEqual({});
    const wrong = await rejection(client.login({ ...BAD, serveraddress: registry.host }));
    expect(wrong.code).toBe('unauthorized');
    expect(wrong.message).toBe(`login attempt to http://${registry.host}/v2/ failed with status: 401 Unauthorized`);
  });

  it('follows a blob redirect to another host without sending it the registry credentials', async () => {
    const pushed = await pushSmallImage(client.open({ domain: registry.host, path: 'private/redirect' }, GOOD, ['push']), 'v1');
    const storage = await startStorage(registry, pushed.layerDigest, pushed.layer);
    // Blob GETs get a 307 to the storage server with a signed-URL-like query, as registries
    // with S3 storage answer.
    let redirected = 0;
    const front = await startFront(registry, (req, res) => {
      const blob = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '');
      if (req.method !== 'GET' || blob === null || req.headers.authorization === undefined) return false;
      redirected++;
      res.writeHead(307, { Location: `http://127.0.0.1:${storage.port}/bucket/${blob[1]}?signature=abc123` }).end();
      return true;
    });
    try {
      const session = client.open({ domain: `127.0.0.1:${front.port}`, path: 'private/redirect' }, GOOD, ['pull']);
      const blob = await readAll(await session.fetchBlob(pushed.layerDigest));
      expect(blob.equals(pushed.layer)).toBe(true);
      expect(redirected).toBe(1);
      expect(storage.seen).toHaveLength(1);
      expect(storage.seen[0]?.authorization).toBeUndefined();
      expect(storage.seen[0]?.url).toContain('signature=');
    } finally {
      await Promise.all([closeServer(front.server), closeServer(storage.server)]);
    }
  });
});

describe('registry client against a token-authenticated registry', () => {
  let registry: TestRegistry;
  let client: BerthRegistryClient;
  beforeAll(async () => {
    registry = await startRegistry({ token: { username: USER, password: PASSWORD } });
    client = createRegistryClient();
  });
  afterAll(async () => {
    client?.close();
    await registry?.stop();
  });
  const tokenRequests = (): number => registry.token?.requests.length ?? 0;

  it('gets a token with basic credentials, caches it per scope, and reuses it across sessions', async () => {
    const before = tokenRequests();
    const session = client.open({ domain: registry.host, path: 'tok/app' }, GOOD, ['push']);
    const pushed = await pushSmallImage(session, 'v1');
    expect(tokenRequests() - before).toBe(1);
    const again = client.open({ domain: registry.host, path: 'tok/app' }, GOOD, ['push']);
    expect((await again.getManifest('v1')).digest).toBe(pushed.digest);
    expect(await again.statBlob(pushed.layerDigest)).toBe(pushed.layer.length);
    expect(tokenRequests() - before).toBe(1);
    // Another scope is another token; its request names it.
    await client.open({ domain: registry.host, path: 'tok/other' }, GOOD, ['pull']).statBlob(pushed.layerDigest);
    expect(tokenRequests() - before).toBe(2);
    const last = registry.token?.requests.at(-1);
    expect(last?.scopes).toEqual(['repository:tok/other:pull']);
    expect(last?.credentials).toBe('basic');
  });

  it('mounts across repositories with a token that covers both', async () => {
    const pushed = await pushSmallImage(client.open({ domain: registry.host, path: 'tok/from' }, GOOD, ['push']), 'v1');
    const target = client.open({ domain: registry.host, path: 'tok/to' }, GOOD, ['push'], ['tok/from']);
    expect(await target.mountBlob(pushed.layerDigest, 'tok/from')).toBe(true);
    expect(registry.token?.requests.at(-1)?.scopes).toEqual(['repository:tok/from:pull', 'repository:tok/to:pull,push']);
  });

  it('is unauthorized anonymously and with a wrong password (the token server refuses it)', async () => {
    const anonymous = await rejection(client.open({ domain: registry.host, path: 'tok/app' }, undefined, ['pull']).getManifest('v1'));
    expect(anonymous.code).toBe('unauthorized');
    expect(anonymous.message).toMatch(/^unauthorized: /);
    const wrong = await rejection(client.open({ domain: registry.host, path: 'tok/app' }, BAD, ['pull']).getManifest('v1'));
    expect(wrong.code).toBe('unauthorized');
    expect(wrong.message).toBe(`Get "http://${registry.host}/v2/tok/app/manifests/v1": unauthorized: incorrect username or password`);
  });

  it('logs in for an identity token, which then pulls through the refresh-token grant', async () => {
    const login = await client.login({ ...GOOD, serveraddress: registry.host });
    expect(login.identityToken).toMatch(/^[0-9a-f]{32}$/);
    const wrong = await rejection(client.login({ ...BAD, serveraddress: registry.host }));
    expect(wrong.code).toBe('unauthorized');
    expect(wrong.message).toBe(`Get "http://${registry.host}/v2/": unauthorized: incorrect username or password`);

    const fresh = createRegistryClient(); // an empty token cache
    try {
      const manifest = await fresh.open({ domain: registry.host, path: 'tok/app' }, { identitytoken: login.identityToken as string }, ['pull']).getManifest('v1');
      expect(manifest.mediaType).toBe(OCI_MANIFEST);
      expect(registry.token?.requests.at(-1)).toMatchObject({ method: 'POST', credentials: 'refresh_token', status: 200 });
    } finally {
      fresh.close();
    }
  });
});

describe('registry client failures', () => {
  it('refuses a manifest whose bytes are not the digest asked for', async () => {
    const registry = await startRegistry();
    const client = createRegistryClient();
    let front: { server: HttpServer; port: number } | undefined;
    try {
      const pushed = await pushSmallImage(client.open({ domain: registry.host, path: 'team/app' }, undefined, ['push']), 'v1');
      // A registry (or something between) that serves other bytes under the digest.
      front = await startFront(registry, (req, res) => {
        if (req.method !== 'GET' || !(req.url ?? '').includes('/manifests/sha256:')) return false;
        const forged = Buffer.from(pushed.manifest.toString('utf8').replace('"schemaVersion":2', '"schemaVersion": 2'));
        res.writeHead(200, { 'Content-Type': OCI_MANIFEST, 'Content-Length': forged.length, 'Docker-Content-Digest': pushed.digest }).end(forged);
        return true;
      });
      const session = client.open({ domain: `127.0.0.1:${front.port}`, path: 'team/app' }, undefined, ['pull']);
      const err = await rejection(session.getManifest(pushed.digest));
      expect(err.code).toBe('system');
      expect(err.message).toMatch(new RegExp(`^manifest verification failed for digest ${pushed.digest}`));
      // By tag, the registry's Docker-Content-Digest must match the bytes too.
      expect((await session.getManifest('v1')).digest).toBe(pushed.digest);
    } finally {
      client.close();
      if (front !== undefined) await closeServer(front.server);
      await registry.stop();
    }
  });

  it('times out on a registry that accepts and never answers, instead of hanging', async () => {
    const sockets = new Set<Socket>();
    const silent: TcpServer = createTcpServer((s) => void sockets.add(s.on('error', () => undefined)));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const client = createRegistryClient({ timeouts: { responseMs: 1_000 } });
    try {
      const started = Date.now();
      const err = await rejection(client.open({ domain: `127.0.0.1:${port}`, path: 'x/y' }, undefined, ['pull']).getManifest('v1'));
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(err.code).toBe('system');
      expect(err.message).toBe(`Get "https://127.0.0.1:${port}/v2/": timeout: the registry 127.0.0.1:${port} did not answer within 1 s`);
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      client.close();
      for (const s of sockets) s.destroy();
      await closeServer(silent);
    }
  });

  it('fails a blob body that stalls or ends short instead of hanging or passing it on', async () => {
    const half = randomBytes(500);
    const sockets = new Set<Socket>();
    // A registry that sends half of each blob, then stalls (`stall`) or hangs up (`short`).
    const server = createHttpServer((req, res) => {
      sockets.add(req.socket);
      if (req.url === '/v2/') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      res.writeHead(200, { 'Content-Length': 1000, 'Content-Type': 'application/octet-stream' });
      res.write(half);
      if ((req.url ?? '').startsWith('/v2/short/')) setTimeout(() => req.socket.destroy(), 50);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    const client = createRegistryClient({ timeouts: { bodyStallMs: 1_000 } });
    try {
      const stalled = await client.open({ domain: host, path: 'stall/blob' }, undefined, ['pull']).fetchBlob(sha256Of('x'));
      const started = Date.now();
      const err = await rejection(readAll(stalled));
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(err.message).toBe(`Get "http://${host}/v2/stall/blob/blobs/${sha256Of('x')}": the registry ${host} sent nothing for 1 s while sending the body`);

      const short = await client.open({ domain: host, path: 'short/blob' }, undefined, ['pull']).fetchBlob(sha256Of('y'));
      await expect(readAll(short)).rejects.toThrow(new RegExp(`^blob ${sha256Of('y')}: (the connection to ${host} broke after 500 of 1000 bytes|unexpected EOF after 500 of 1000 bytes)`));
    } finally {
      client.close();
      for (const s of sockets) s.destroy();
      await closeServer(server);
    }
  });

  it('names the registry when the connection is refused (https tried, then http)', async () => {
    const closed: TcpServer = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await closeServer(closed);
    const client = createRegistryClient();
    try {
      const err = await rejection(client.open({ domain: `127.0.0.1:${port}`, path: 'x/y' }, undefined, ['pull']).getManifest('v1'));
      expect(err.code).toBe('system');
      expect(err.message).toBe(`Get "http://127.0.0.1:${port}/v2/": dial tcp 127.0.0.1:${port}: connect: connection refused`);
    } finally {
      client.close();
    }
  });
});

describe('docker login through berthd', () => {
  const daemon = useDaemon();
  const basic = useRegistry(() => ({ netns: daemon().netns, auth: { username: USER, password: PASSWORD } }));
  const token = useRegistry(() => ({ netns: daemon().netns, token: { username: USER, password: PASSWORD } }));

  it('says Login Succeeded for the right password and fails for a wrong one (htpasswd registry)', async () => {
    const ok = await daemon().docker(['login', basic().host, '-u', USER, '--password-stdin'], { input: PASSWORD });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Login Succeeded');
    const config = JSON.parse(await readFile(join(daemon().env.DOCKER_CONFIG as string, 'config.json'), 'utf8')) as { auths: Record<string, { auth?: string }> };
    expect(config.auths[basic().host]?.auth).toBe(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));

    const bad = await daemon().docker(['login', basic().host, '-u', USER, '-p', 'wrong-password']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(`login attempt to http://${basic().host}/v2/ failed with status: 401 Unauthorized`);
  });

  it('logs in to a token registry, where the CLI keeps the identity token instead of the password', async () => {
    const ok = await daemon().docker(['login', token().host, '-u', USER, '--password-stdin'], { input: `${PASSWORD}\n` });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Login Succeeded');
    const config = JSON.parse(await readFile(join(daemon().env.DOCKER_CONFIG as string, 'config.json'), 'utf8')) as { auths: Record<string, { identitytoken?: string }> };
    expect(config.auths[token().host]?.identitytoken).toMatch(/^[0-9a-f]{32}$/);

    const bad = await daemon().docker(['login', token().host, '-u', USER, '--password-stdin'], { input: 'wrong-password' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unauthorized: incorrect username or password');
  });

  it('answers POST /auth itself as Docker does: 200 with Status, 401 and 400 with a message', async () => {
    const post = (body: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest({ socketPath: daemon().socket, path: '/v1.43/auth', method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const ok = await post(JSON.stringify({ username: USER, password: PASSWORD, serveraddress: basic().host }));
    expect(ok).toEqual({ status: 200, body: '{"Status":"Login Succeeded","IdentityToken":""}' });
    const wrong = await post(JSON.stringify({ username: USER, password: 'nope', serveraddress: basic().host }));
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body)).toEqual({ message: `login attempt to http://${basic().host}/v2/ failed with status: 401 Unauthorized` });
    const malformed = await post('{"username": 42}');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toEqual({ message: 'invalid auth config: "username" must be a string' });
  });
});

/** A storage server (S3's role): serves one blob at any path, recording what each request carried. */
async function startStorage(registry: TestRegistry, digest: Digest, blob: Buffer): Promise<{ server: HttpServer; port: number; seen: { url: string; authorization: string | undefined }[] }> {
  const seen: { url: string; authorization: string | undefined }[] = [];
  const server = createHttpServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(200, { 'Content-Length': blob.length, 'Content-Type': 'application/octet-stream', 'X-Blob': digest, 'X-Registry': registry.host });
    res.end(blob);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, seen };
}

/**
 * A front for the real registry: `intercept` may answer a request itself (return true);
 * everything else is relayed to the registry as is.
 */
async function startFront(registry: TestRegistry, intercept: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer((req, res) => {
    if (intercept(req, res)) return;
    const headers: IncomingHttpHeaders = { ...req.headers, host: registry.host };
    const upstream = httpRequest(`${registry.url}${req.url ?? '/'}`, { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function closeServer(server: HttpServer | TcpServer): Promise<void> {
  return new Promise((resolve) => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close(() => resolve());
  });
}
