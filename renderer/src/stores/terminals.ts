import { defineStore } from 'pinia';
import { ref } from 'vue';
import { newId, useBridge } from '../bridge/index.js';

export interface TerminalSessionInfo {
  readonly session: string;
  readonly containerId: string;
  readonly shell: string;
  /** null while it runs; the exit code (or null if unknown) once ended. */
  exited: { code: number | null } | null;
}

type OutputHandler = (data: string) => void;
type ExitHandler = (code: number | null) => void;

/**
 * Terminal sessions by container. The sessions themselves live in the main process; this keeps
 * their ids so a Terminal tab that unmounts (tab switch, navigation) re-attaches to the same
 * shell instead of opening another. Output and exit pushes go to the one view showing a session.
 */
export const useTerminals = defineStore('terminals', () => {
  const byContainer = ref(new Map<string, TerminalSessionInfo>());
  const outputs = new Map<string, OutputHandler>();
  const exits = new Map<string, ExitHandler>();
  let listening = false;

  function listen(): void {
    if (listening) return;
    listening = true;
    const bridge = useBridge();
    bridge.on('terminal:output', ({ session, data }) => outputs.get(session)?.(data));
    bridge.on('terminal:exit', ({ session, exitCode }) => {
      for (const info of byContainer.value.values()) if (info.session === session) info.exited = { code: exitCode };
      exits.get(session)?.(exitCode);
    });
  }

  /** The live (or ended but not yet replaced) session of a container. */
  function sessionOf(containerId: string): TerminalSessionInfo | undefined {
    return byContainer.value.get(containerId);
  }

  /** Routes a session's pushes to one view; answers the function that stops them. */
  function show(session: string, onOutput: OutputHandler, onExit: ExitHandler): () => void {
    listen();
    outputs.set(session, onOutput);
    exits.set(session, onExit);
    return () => {
      if (outputs.get(session) === onOutput) outputs.delete(session);
      if (exits.get(session) === onExit) exits.delete(session);
    };
  }

  /**
   * Opens a new shell in `containerId` (closing an ended one). `onOutput` is routed before the
   * invoke, so the first prompt, which can arrive before the answer, is not lost.
   */
  async function open(containerId: string, cols: number, rows: number, onOutput: OutputHandler, onExit: ExitHandler): Promise<{ info: TerminalSessionInfo; stop: () => void }> {
    const previous = byContainer.value.get(containerId);
    if (previous !== undefined) await close(containerId);
    const session = newId('term');
    const stop = show(session, onOutput, onExit);
    try {
      const { shell } = await useBridge().invoke('terminal:open', { session, containerId, cols, rows });
      const info: TerminalSessionInfo = { session, containerId, shell, exited: null };
      byContainer.value.set(containerId, info);
      return { info, stop };
    } catch (err) {
      stop();
      throw err;
    }
  }

  /**
   * Re-joins a session: answers its scrollback. Output that arrives before the answer is
   * already in that scrollback (the main process answers before it sends more), so the view
   * drops it until then.
   */
  async function attach(info: TerminalSessionInfo, onOutput: OutputHandler, onExit: ExitHandler): Promise<{ scrollback: string; stop: () => void }> {
    let ready = false;
    const stop = show(info.session, (d) => ready && onOutput(d), onExit);
    try {
      const { scrollback, exited } = await useBridge().invoke('terminal:attach', { session: info.session });
      if (exited && info.exited === null) info.exited = { code: null };
      ready = true;
      return { scrollback, stop };
    } catch (err) {
      stop();
      byContainer.value.delete(info.containerId);
      throw err;
    }
  }

  function input(session: string, data: string): Promise<void> {
    return useBridge().invoke('terminal:input', { session, data });
  }

  function resize(session: string, cols: number, rows: number): Promise<void> {
    return useBridge().invoke('terminal:resize', { session, cols, rows });
  }

  async function close(containerId: string): Promise<void> {
    const info = byContainer.value.get(containerId);
    if (info === undefined) return;
    byContainer.value.delete(containerId);
    outputs.delete(info.session);
    exits.delete(info.session);
    await useBridge().invoke('terminal:close', { session: info.session }).catch(() => undefined);
  }

  return { byContainer, sessionOf, open, attach, input, resize, close };
});
