import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand } from './command.js';

/**
 * A real terminal for `docker run -it` / `exec -it` tests: a tmux session on its own server
 * socket, so tests never touch a user's tmux. Keys go in with send-keys; the screen comes
 * back with capture-pane.
 *
 *   const term = await Terminal.open(['docker', 'run', '-it', image, 'sh'], env);
 *   await term.waitFor(/\/ # $/m);
 *   await term.type('echo hi', 'Enter');
 */
export class Terminal {
  private constructor(
    private readonly server: string,
    readonly session: string,
  ) {}

  static async open(argv: readonly string[], env: Readonly<Record<string, string>>, size = { cols: 80, rows: 24 }): Promise<Terminal> {
    const server = `berth-test-${randomBytes(4).toString('hex')}`;
    const term = new Terminal(server, 'main');
    const exports = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`);
    // remain-on-exit keeps the pane (and its last screen) after the command ends.
    const command = `env ${exports.join(' ')} ${argv.map(quote).join(' ')}; echo "[exit $?]"; sleep 600`;
    const r = await runCommand('tmux', ['-L', server, '-f', '/dev/null', 'new-session', '-d', '-s', 'main', '-x', String(size.cols), '-y', String(size.rows), command]);
    if (r.code !== 0) throw new Error(`tmux new-session failed: ${r.stderr}`);
    return term;
  }

  /** Sends keys as tmux names them: literal text, or `Enter`, `C-c`, `C-d`, `C-p`... */
  async type(...keys: string[]): Promise<void> {
    for (const key of keys) {
      const literal = !/^(Enter|C-[a-z@\\[\]^_]|Escape|Tab)$/.test(key);
      const r = await runCommand('tmux', ['-L', this.server, 'send-keys', '-t', this.session, ...(literal ? ['-l'] : []), key]);
      if (r.code !== 0) throw new Error(`tmux send-keys failed: ${r.stderr}`);
    }
  }

  async screen(): Promise<string> {
    const r = await runCommand('tmux', ['-L', this.server, 'capture-pane', '-p', '-t', this.session]);
    return r.stdout;
  }

  /** Polls the screen until `pattern` matches; throws with the screen after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = await this.screen();
      if (pattern.test(last)) return last;
      await sleep(50);
    }
    throw new Error(`terminal never showed ${String(pattern)}; screen:\n${last}`);
  }

  async resize(cols: number, rows: number): Promise<void> {
    await runCommand('tmux', ['-L', this.server, 'resize-window', '-t', this.session, '-x', String(cols), '-y', String(rows)]);
  }

  async close(): Promise<void> {
    await runCommand('tmux', ['-L', this.server, 'kill-server']);
  }
}

function quote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
