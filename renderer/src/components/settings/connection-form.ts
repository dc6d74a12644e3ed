import type { ConnectionTarget } from '@shared/bridge.js';

/** The Settings page's connection fields, and the target they describe (checked before Connect). */
export interface ConnectionFields {
  kind: ConnectionTarget['kind'];
  localSocket: string;
  socketPath: string;
  host: string;
  username: string;
  port: string;
  keyPath: string;
}

export function fieldsOf(target: ConnectionTarget | undefined): ConnectionFields {
  const fields: ConnectionFields = { kind: 'local', localSocket: '', socketPath: '', host: '', username: '', port: '22', keyPath: '' };
  if (target === undefined) return fields;
  fields.kind = target.kind;
  if (target.kind === 'local') fields.localSocket = target.socketPath ?? '';
  else if (target.kind === 'socket') fields.socketPath = target.socketPath;
  else {
    fields.host = target.host;
    fields.username = target.username;
    fields.port = String(target.port ?? 22);
    fields.keyPath = target.privateKeyPath ?? '';
  }
  return fields;
}

export function targetOf(f: ConnectionFields): { ok: true; target: ConnectionTarget } | { ok: false; message: string } {
  const absolute = (p: string): boolean => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
  switch (f.kind) {
    case 'local': {
      const path = f.localSocket.trim();
      if (path !== '' && !absolute(path)) return { ok: false, message: 'The berthd socket must be an absolute path, or empty for the default.' };
      return { ok: true, target: path === '' ? { kind: 'local' } : { kind: 'local', socketPath: path } };
    }
    case 'socket': {
      const path = f.socketPath.trim();
      if (path === '') return { ok: false, message: 'Enter the socket path, e.g. /var/run/docker.sock.' };
      if (!absolute(path)) return { ok: false, message: `The socket path must be absolute, not "${path}".` };
      return { ok: true, target: { kind: 'socket', socketPath: path } };
    }
    case 'ssh': {
      const host = f.host.trim();
      const username = f.username.trim();
      if (host === '' || /\s/.test(host)) return { ok: false, message: 'Enter the SSH host (a name or address, no spaces).' };
      if (username === '' || /\s/.test(username)) return { ok: false, message: 'Enter the SSH user name.' };
      const port = Number(f.port.trim() === '' ? '22' : f.port.trim());
      if (!Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, message: 'The SSH port must be a whole number from 1 to 65535.' };
      const key = f.keyPath.trim();
      if (key !== '' && !absolute(key)) return { ok: false, message: 'The key path must be absolute (e.g. /home/me/.ssh/id_ed25519).' };
      return { ok: true, target: { kind: 'ssh', host, username, port, ...(key === '' ? {} : { privateKeyPath: key }) } };
    }
  }
}
