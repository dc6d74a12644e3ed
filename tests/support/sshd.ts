import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from './command.js';

/**
 * A real OpenSSH server on 127.0.0.1 for one test: its own host key, config and pid file in
 * a temp dir, key-only login for one generated client key. `forcedCommand` is what every login
 * runs (authorized_keys `command=`), e.g. the docker CLI's dial-stdio against a test berthd.
 */
export interface TestSshd {
  readonly port: number;
  readonly privateKeyPath: string;
  readonly hostPublicKey: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export async function startSshd(forcedCommand: string): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-sshd-'));
  const keygen = async (file: string) => {
    const r = await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
    if (r.code !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  };
  await keygen(join(dir, 'host_key'));
  await keygen(join(dir, 'client_key'));
  const clientPub = (await readFile(join(dir, 'client_key.pub'), 'utf8')).trim();
  await writeFile(join(dir, 'authorized_keys'), `command="${forcedCommand}",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding ${clientPub}\n`, { mode: 0o600 });
  const port = await freePort();
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      '',
    ].join('\n'),
  );
  // sshd refuses to start without its privilege-separation directory; made only if missing.
  const privsep = '/run/sshd';
  const madePrivsep = !existsSync(privsep);
  if (madePrivsep) await mkdir(privsep, { mode: 0o755 });
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (log += c));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not listen within 10 s: ${log}`)), 10_000);
    const check = () => {
      if (/Server listening/.test(log)) {
        clearTimeout(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        reject(new Error(`sshd exited: ${log}`));
      } else setTimeout(check, 50);
    };
    check();
  });
  return {
    port,
    privateKeyPath: join(dir, 'client_key'),
    hostPublicKey: (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim(),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
      if (madePrivsep) await rm(privsep, { recursive: true, force: true });
    },
  };
}
