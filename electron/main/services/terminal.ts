import { AppError, InvalidArgument } from '../transport/errors.js';
import type { Client } from '../transport/registry.js';
import { clientId, integer, record, text } from '../transport/validate.js';
import type { ServiceContext } from './context.js';
import { TerminalSession } from './terminal-session.js';

const MAX_INPUT = 64 * 1024;

/**
 * terminal:open/attach/input/resize/close. Sessions are the app's, keyed by the id the
 * renderer chose, and outlive the Terminal tab: switching tabs re-attaches. A session ends
 * with terminal:close, when its shell exits and the view closes it, or when the client that
 * owns it (attached last) goes away.
 */
export function registerTerminal(ctx: ServiceContext): void {
  const { registry, engine } = ctx;
  const sessions = new Map<string, TerminalSession>();
  const watched = new WeakSet<Client>();

  function own(client: Client): void {
    if (watched.has(client)) return;
    watched.add(client);
    client.onClose(() => {
      for (const s of [...sessions.values()]) {
        if (s.owner !== client) continue;
        sessions.delete(s.id);
        void s.close();
      }
    });
  }

  function session(args: unknown): { s: TerminalSession; a: Record<string, unknown> } {
    const a = record(args, 'args');
    const id = clientId(a['session'], 'session');
    const s = sessions.get(id);
    if (s === undefined) throw new AppError('not-found', 'This terminal session has ended; open a new one.', 404);
    return { s, a };
  }

  const size = (a: Record<string, unknown>) => ({ cols: integer(a['cols'], 'cols', 1, 1000), rows: integer(a['rows'], 'rows', 1, 1000) });

  registry.handle('terminal:open', async (args, client) => {
    const a = record(args, 'args');
    const id = clientId(a['session'], 'session');
    const containerId = text(a['containerId'], 'containerId', { max: 256 });
    const { cols, rows } = size(a);
    if (sessions.has(id)) throw new AppError('conflict', `terminal session ${id} is already open; attach to it instead`, 409);
    const s = await TerminalSession.open({
      id,
      docker: engine.docker,
      containerId,
      cols,
      rows,
      owner: client,
    });
    sessions.set(id, s);
    own(client);
    if (client.closed) {
      sessions.delete(id);
      void s.close();
    }
    return { shell: s.shell };
  });

  registry.handle('terminal:attach', (args, client) => {
    const { s } = session(args);
    own(client);
    return s.attach(client);
  });

  registry.handle('terminal:input', (args) => {
    const { s, a } = session(args);
    const data = a['data'];
    // Not text(): a terminal may send NUL (Ctrl+Space) like any other key.
    if (typeof data !== 'string' || data.length > MAX_INPUT) throw new InvalidArgument(`data must be a string of at most ${MAX_INPUT} characters`);
    s.input(data);
  });

  registry.handle('terminal:resize', async (args) => {
    const { s, a } = session(args);
    const { cols, rows } = size(a);
    await s.resize(cols, rows);
  });

  registry.handle('terminal:close', async (args) => {
    const id = clientId(record(args, 'args')['session'], 'session');
    const s = sessions.get(id);
    sessions.delete(id);
    await s?.close();
  });
}
