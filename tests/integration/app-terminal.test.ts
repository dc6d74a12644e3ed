import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { NodeBridge } from '../support/bridge-client.js';
import { connectBridge } from '../support/bridge-client.js';
import { useApp } from '../support/app.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

/** Collects a session's output until `pattern` shows up (or fails after `timeoutMs`). */
function outputOf(bridge: NodeBridge, session: string) {
  let text = '';
  const off = bridge.on('terminal:output', (p) => {
    if (p.session === session) text += p.data;
  });
  return {
    get text() {
      return text;
    },
    async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = pattern.exec(text);
        if (m !== null) return m;
        if (Date.now() > deadline) throw new Error(`no ${String(pattern)} in terminal output:\n${text}`);
        await sleep(50);
      }
    },
    off,
  };
}

// Terminal sessions through the app: an exec with a TTY in a real berthd container.
describe('app: terminal sessions', () => {
  const daemon = useDaemon({ image: 'oci' });
  const app = useApp(daemon);

  /**
   * The live shells (and the `cat` a test runs in one) in `name`: what a leaked session would
   * leave. Zombies do not count: a killed `cat` is reparented to the container's `sleep`,
   * which never reaps (as with Docker, a container without --init keeps its zombies).
   */
  async function shells(name: string): Promise<string[]> {
    const ps = await daemon().docker(['exec', name, 'ps', '-o', 'pid,stat,comm']);
    return ps.stdout.split('\n').filter((l) => /\b(sh|bash|cat)$/.test(l.trim()) && !/^\s*\d+\s+Z/.test(l));
  }

  async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5000, explain?: () => Promise<string>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${explain === undefined ? '' : await explain()}`);
      await sleep(100);
    }
  }

  it('opens a shell, runs input, resizes, re-attaches with scrollback and closes the exec', async () => {
    const { bridge } = app();
    const { id } = await bridge.invoke('containers:run', { image: TEST_IMAGE, name: 'term1', command: ['sleep', '300'], network: 'none' });
    const session = 'term-a';
    const out = outputOf(bridge, session);
    const opened = await bridge.invoke('terminal:open', { session, containerId: id, cols: 100, rows: 30 });
    expect(opened.shell).toMatch(/^(\/bin\/)?sh$/); // busybox has no bash

    await bridge.invoke('terminal:input', { session, data: 'echo hello-$((6*7))\r' });
    await out.waitFor(/hello-42/);
    await bridge.invoke('terminal:input', { session, data: 'stty size\r' });
    await out.waitFor(/^30 100\r?$/m);
    await bridge.invoke('terminal:resize', { session, cols: 91, rows: 17 });
    await bridge.invoke('terminal:input', { session, data: 'stty size\r' });
    await out.waitFor(/^17 91\r?$/m);

    // A view that was unmounted attaches again and gets what was printed.
    const attached = await bridge.invoke('terminal:attach', { session });
    expect(attached.exited).toBe(false);
    expect(attached.scrollback).toContain('hello-42');
    expect(attached.scrollback).toMatch(/17 91/);

    // Output is UTF-8 whole even when the engine splits a character across chunks.
    await bridge.invoke('terminal:input', { session, data: "printf '\\303\\244\\342\\202\\254-done\\n'\r" });
    await out.waitFor(/ä€-done/);

    // A program in the foreground ends with the session too.
    await bridge.invoke('terminal:input', { session, data: 'cat\r' });
    await until(async () => (await shells('term1')).length === 2, 'cat to run in the terminal');
    await bridge.invoke('terminal:close', { session });
    await until(async () => (await shells('term1')).length === 0, 'the shell to end after terminal:close', 5000, async () => (await daemon().docker(['exec', 'term1', 'ps', '-o', 'pid,ppid,stat,args'])).stdout);
    await expect(bridge.invoke('terminal:input', { session, data: 'x' })).rejects.toThrow(/has ended; open a new one/);
    out.off();
    await bridge.invoke('containers:action', { ids: [id], action: 'remove' });
  });

  it('reports the exit code when the shell exits, and keeps the scrollback for attach', async () => {
    const { bridge } = app();
    const { id } = await bridge.invoke('containers:run', { image: TEST_IMAGE, name: 'term2', command: ['sleep', '300'], network: 'none' });
    const session = 'term-b';
    const exit = bridge.next('terminal:exit', (p) => p.session === session);
    await bridge.invoke('terminal:open', { session, containerId: id, cols: 80, rows: 24 });
    await bridge.invoke('terminal:input', { session, data: 'echo bye; exit 3\r' });
    expect((await exit).exitCode).toBe(3);
    const attached = await bridge.invoke('terminal:attach', { session });
    expect(attached).toMatchObject({ exited: true });
    expect(attached.scrollback).toContain('bye');
    await bridge.invoke('terminal:close', { session });
    await bridge.invoke('containers:action', { ids: [id], action: 'remove' });
  });

  it('closes every session of a client that goes away, and refuses a stopped container clearly', async () => {
    const { bridge } = app();
    const { id } = await bridge.invoke('containers:run', { image: TEST_IMAGE, name: 'term3', command: ['sleep', '300'], network: 'none' });
    const other = await connectBridge(app().app.server.url);
    for (const session of ['gone-1', 'gone-2']) {
      const out = outputOf(other, session);
      await other.invoke('terminal:open', { session, containerId: id, cols: 80, rows: 24 });
      await other.invoke('terminal:input', { session, data: 'echo ready\r' });
      await out.waitFor(/ready/);
      out.off();
    }
    expect(await shells('term3')).toHaveLength(2);
    await other.close();
    await until(async () => (await shells('term3')).length === 0, 'the shells of a closed client to end');
    await expect(bridge.invoke('terminal:attach', { session: 'gone-1' })).rejects.toThrow(/has ended/);

    await bridge.invoke('containers:action', { ids: [id], action: 'kill' });
    await expect(bridge.invoke('terminal:open', { session: 'on-stopped', containerId: id, cols: 80, rows: 24 })).rejects.toThrow(/not running/i);
    await expect(bridge.invoke('terminal:open', { session: 'bad size', containerId: id, cols: 80, rows: 24 })).rejects.toThrow(/session may hold only/);
    await bridge.invoke('containers:action', { ids: [id], action: 'remove' });
  });
});
