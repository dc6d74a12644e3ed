import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * SSH host key checking against an OpenSSH known_hosts file, as `ssh` (and so Docker's
 * ssh:// hosts) does with StrictHostKeyChecking: a key that is not listed for the host, or
 * differs from the listed one, is refused, and the refusal says how to check and add it.
 *
 * Entries: `host[,host…] keytype base64`, `[host]:port` for ports other than 22, and hashed
 * names (`|1|salt|hmac`, HMAC-SHA1 of the name). Marker lines (@revoked, @cert-authority)
 * are not trusted.
 */
export interface HostKeyCheck {
  /** ssh2's hostVerifier: the raw key blob the server offered. */
  verify(key: Buffer): boolean;
  /** Why the last verify() refused, in words a user can act on. */
  readonly refusal: string | undefined;
}

function names(host: string, port: number): string[] {
  return port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`];
}

function matches(pattern: string, candidates: readonly string[]): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (salt === undefined || hash === undefined) return false;
    return candidates.some((name) => createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash);
  }
  return pattern.split(',').some((p) => candidates.includes(p));
}

/** The keys known_hosts lists for host:port (base64 blobs). */
export function knownKeys(text: string, host: string, port: number): string[] {
  const candidates = names(host, port);
  const keys: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [pattern, , key] = line.split(/\s+/);
    if (pattern !== undefined && key !== undefined && matches(pattern, candidates)) keys.push(key);
  }
  return keys;
}

export async function hostKeyCheck(knownHostsPath: string, host: string, port: number, username: string): Promise<HostKeyCheck> {
  const text = await readFile(knownHostsPath, 'utf8').catch(() => '');
  const keys = knownKeys(text, host, port);
  const sshCommand = `ssh${port === 22 ? '' : ` -p ${port}`} ${username}@${host}`;
  let refusal: string | undefined;
  return {
    get refusal() {
      return refusal;
    },
    verify(key: Buffer): boolean {
      const offered = key.toString('base64');
      if (keys.includes(offered)) {
        refusal = undefined;
        return true;
      }
      refusal =
        keys.length === 0
          ? `The host key of ${host} is not in ${knownHostsPath}. Connect once with \`${sshCommand}\` to check it and save it, then connect again.`
          : `The host key of ${host} is not the one ${knownHostsPath} lists for it: the host changed, or someone is in between. Check with its owner before you trust it.`;
      return false;
    },
  };
}
