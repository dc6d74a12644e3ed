import { parseAuthConfig } from '../../registry/credentials.js';
import type { RegistryClient } from '../../registry/types.js';
import type { Router } from '../router.js';

/**
 * `POST /auth` (docker login): checks the AuthConfig in the body against the registry it names
 * (`serveraddress`; Docker Hub when empty) and answers Docker's
 * `{"Status":"Login Succeeded","IdentityToken":""}`, the IdentityToken being the refresh token a
 * token server issued, if any (the CLI then stores it instead of the password). Refused
 * credentials are 401 with the registry's reason (`unauthorized: incorrect username or password`,
 * `login attempt to http://host/v2/ failed with status: 401 Unauthorized`).
 */
export function registerAuthRoutes(router: Router, registry: RegistryClient): void {
  router.post('/auth', async (ctx) => {
    const credentials = parseAuthConfig(await ctx.json<unknown>(), 'auth config');
    const { identityToken } = await registry.login(credentials);
    const body = JSON.stringify({ Status: 'Login Succeeded', IdentityToken: identityToken ?? '' });
    ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
  });
}
