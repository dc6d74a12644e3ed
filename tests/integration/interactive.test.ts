import { afterEach, describe, expect, it } from 'vitest';
import { DOCKER_CLI } from '../support/paths.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';
import { Terminal } from '../support/terminal.js';

const PROMPT = /[#$]\s*$/m; // tmux trims the trailing space

// docker run -it / attach / start -ai through a real terminal (tmux), as a person types.
describe('interactive containers', () => {
  const daemon = useDaemon({ image: 'oci' });
  const docker = (...args: string[]) => daemon().docker(args);
  const terminals: Terminal[] = [];
  const open = async (...args: string[]) => {
    const t = await Terminal.open([DOCKER_CLI, ...args], daemon().env);
    terminals.push(t);
    return t;
  };
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.close();
  });

  it('run -it gives a shell on a TTY that follows resizes, Ctrl-C and Ctrl-D', async () => {
    const t = await open('run', '-it', '--name', 'tty1', '--network', 'none', TEST_IMAGE, 'sh');
    await t.waitFor(PROMPT);
    await t.type('tty; stty size', 'Enter');
    await t.waitFor(/\/dev\/pts\/0\s+24 80/);
    await t.resize(100, 30);
    await t.type('clear; stty size', 'Enter');
    await t.waitFor(/^30 100$/m);
    await t.type('sleep 100', 'Enter');
    await t.type('C-c');
    await t.type('echo after-$((6*7))', 'Enter');
    await t.waitFor(/^after-42/m);
    await t.type('C-d');
    await t.waitFor(/\[exit 0\]/);
    const state = (JSON.parse((await docker('inspect', 'tty1')).stdout) as { State: { Status: string; ExitCode: number }; Config: { Tty: boolean } }[])[0];
    expect(state?.State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    expect(state?.Config.Tty).toBe(true);

    // start -ai brings the same container back to the terminal.
    const again = await open('start', '-ai', 'tty1');
    await again.waitFor(PROMPT);
    await again.type('echo back-again', 'Enter');
    await again.waitFor(/^back-again/m);
    await again.type('exit 3', 'Enter');
    await again.waitFor(/\[exit 3\]/);
    await docker('rm', 'tty1');
  });

  it('ctrl-p ctrl-q detaches and leaves it running; attach comes back', async () => {
    const t = await open('run', '-it', '--name', 'tty2', '--network', 'none', TEST_IMAGE, 'sh');
    await t.waitFor(PROMPT);
    await t.type('echo before > /tmp/mark', 'Enter');
    await t.type('C-p', 'C-q');
    await t.waitFor(/\[exit 0\]/);
    expect((await docker('inspect', '-f', '{{.State.Running}}', 'tty2')).stdout.trim()).toBe('true');
    const a = await open('attach', 'tty2');
    await a.type('cat /tmp/mark', 'Enter');
    await a.waitFor(/^before/m);
    await a.type('exit', 'Enter');
    await a.waitFor(/\[exit 0\]/);
    expect((await docker('inspect', '-f', '{{.State.Status}}', 'tty2')).stdout.trim()).toBe('exited');
    await docker('rm', 'tty2');
  });

  it('exec -it opens a second shell in the same container', async () => {
    await docker('run', '-d', '--name', 'host1', '-h', 'execbox', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'echo from-init > /tmp/shared; sleep 300');
    const t = await open('exec', '-it', 'host1', 'sh');
    await t.waitFor(PROMPT);
    await t.type('echo $(cat /tmp/shared) $(hostname) pid=$$ init=$(cat /proc/1/comm); tty', 'Enter');
    await t.waitFor(/^from-init execbox pid=(\d+) init=sleep\n\/dev\/pts\/\d+/m);
    const screen = await t.screen();
    expect(screen).not.toMatch(/pid=1 /);
    // The CLI resizes the exec's own terminal (/exec/{id}/resize) when the window changes.
    await t.resize(90, 20);
    await t.type('clear; stty size', 'Enter');
    await t.waitFor(/^20 90$/m);
    await t.type('exit 5', 'Enter');
    await t.waitFor(/\[exit 5\]/);
    await docker('rm', '-f', 'host1');
  });
});
