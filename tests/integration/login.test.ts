import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useRegistry } from '../support/registry.js';
import { useDaemon } from '../support/suite.js';

// `docker login` / `docker logout` (POST /auth) against Debian's docker-registry on loopback,
// with htpasswd (basic) and token authentication, through the real CLI and dockerode.

const BASIC_USER = { username: 'basic-user', password: 'basic-secret' };
const TOKEN_USER = { username: 'token-user', password: 'token-secret' };

describe('docker login and logout', () => {
  const daemon = useDaemon({ image: 'oci' });
  const basic = useRegistry(() => ({ netns: daemon().netns, auth: BASIC_USER }));
  const token = useRegistry(() => ({ netns: daemon().netns, token: TOKEN_USER }));

  /** The CLI's config file (`$DOCKER_CONFIG/config.json`): its `auths`, {} when it has none. */
  const savedAuths = async (): Promise<Record<string, { auth?: string }>> => {
    const text = await readFile(join(daemon().env.DOCKER_CONFIG as string, 'config.json'), 'utf8').catch(() => '{}');
    return (JSON.parse(text) as { auths?: Record<string, { auth?: string }> }).auths ?? {};
  };
  const basicAuth = (user: { username: string; password: string }): string => Buffer.from(`${user.username}:${user.password}`).toString('base64');

  it('refuses a wrong password and saves nothing', async () => {
    const r = await daemon().docker(['login', basic().host, '-u', BASIC_USER.username, '--password-stdin'], { input: 'not-the-password' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unauthorized|401/i);
    expect(r.stdout).not.toContain('Login Succeeded');
    expect((await savedAuths())[basic().host]).toBeUndefined();
  });

  it('logs in with -p, and with --password-stdin; the CLI saves the credentials', async () => {
    const withFlag = await daemon().docker(['login', basic().host, '-u', BASIC_USER.username, '-p', BASIC_USER.password]);
    expect(withFlag.code, withFlag.stderr).toBe(0);
    expect(withFlag.stdout).toContain('Login Succeeded');
    expect((await savedAuths())[basic().host]?.auth).toBe(basicAuth(BASIC_USER));

    const fromStdin = await daemon().docker(['login', basic().host, '-u', BASIC_USER.username, '--password-stdin'], { input: `${BASIC_USER.password}\n` });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout).toContain('Login Succeeded');
  });

  it('logs out: the entry leaves the CLI\'s config file', async () => {
    expect((await savedAuths())[basic().host]).toBeDefined();
    const r = await daemon().docker(['logout', basic().host]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Removing login credentials for ${basic().host}`);
    expect((await savedAuths())[basic().host]).toBeUndefined();
  });

  it('checks credentials through dockerode (POST /auth)', async () => {
    const ok = (await daemon().dockerode.checkAuth({ ...BASIC_USER, serveraddress: basic().host })) as { Status?: string };
    expect(ok.Status).toBe('Login Succeeded');
    const refused = await daemon()
      .dockerode.checkAuth({ username: BASIC_USER.username, password: 'wrong', serveraddress: basic().host })
      .then(
        () => undefined,
        (err: { statusCode?: number }) => err,
      );
    expect(refused?.statusCode).toBe(401);
  });

  it('logs in to a token-auth registry, pushes with the saved credentials, and is refused after logout', async () => {
    const wrong = await daemon().docker(['login', token().host, '-u', TOKEN_USER.username, '--password-stdin'], { input: 'wrong' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/unauthorized|incorrect username or password/i);

    const before = token().token?.requests.length ?? 0;
    const login = await daemon().docker(['login', token().host, '-u', TOKEN_USER.username, '--password-stdin'], { input: TOKEN_USER.password });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('Login Succeeded');
    // The check went through the token server with the user's credentials.
    const asked = token().token?.requests.slice(before) ?? [];
    expect(asked.some((r) => r.credentials !== 'anonymous' && r.status === 200)).toBe(true);
    expect((await savedAuths())[token().host]).toBeDefined();

    const ref = `${token().host}/team/app:1`;
    const tag = await daemon().docker(['tag', TEST_IMAGE, ref]);
    expect(tag.code, tag.stderr).toBe(0);
    const push = await daemon().docker(['push', ref]);
    expect(push.code, `${push.stdout}\n${push.stderr}`).toBe(0);
    expect(push.stdout).toMatch(/^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    expect(token().token?.requests.some((r) => r.scopes.some((s) => s.startsWith('repository:team/app:') && s.includes('push')))).toBe(true);

    const logout = await daemon().docker(['logout', token().host]);
    expect(logout.code, logout.stderr).toBe(0);
    expect((await savedAuths())[token().host]).toBeUndefined();
    const denied = await daemon().docker(['push', ref]);
    expect(denied.code).toBe(1);
    expect(`${denied.stdout}\n${denied.stderr}`).toMatch(/unauthorized|denied|insufficient_scope/i);
  });
});
