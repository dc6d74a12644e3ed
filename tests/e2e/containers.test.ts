import { describe, expect, it } from 'vitest';
import { useApp } from '../support/app.js';
import { useBrowser } from '../support/browser.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

/**
 * A container's whole life through the UI, in Chromium against browser mode and a real
 * berthd: run from the Run dialog, see it running, a terminal session that survives switching
 * tabs, live stats, then stop and remove from the table. Each step is also checked in the
 * engine, so the UI cannot pass by only looking right.
 */
const daemon = useDaemon({ image: 'oci' });
const app = useApp(daemon);
const browser = useBrowser('containers');

const NAME = 'e2e-web';
const COMMAND = 'sh -c "while true; do echo tick; sleep 1; done"';

function points(figureLabel: string): Promise<number> {
  return browser()
    .page.locator(`figure[aria-label="${figureLabel}"]`)
    .getAttribute('data-points')
    .then((v) => Number(v ?? 0));
}

function terminalText(): Promise<string> {
  return browser()
    .page.locator('.xterm-rows')
    .textContent()
    .then((t) => t ?? '');
}

describe('containers end to end', () => {
  it('the Run dialog refuses a missing image with an inline message', async () => {
    const { page } = browser();
    await page.goto(`${app().app.server.url}#/containers`);
    await page.getByRole('heading', { name: 'Containers', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Run container' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run a container' });
    await dialog.getByLabel('Image', { exact: true }).fill('');
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();
    await expect(dialog.getByRole('alert').first().textContent()).resolves.toMatch(/image/i);
    await page.keyboard.press('Escape');
    expect((await daemon().dockerode.listContainers({ all: true })).length).toBe(0);
  });

  it('runs a container from the Run dialog and shows it running', async () => {
    const { page } = browser();
    await page.getByRole('button', { name: 'Run container' }).click();
    const dialog = page.getByRole('dialog', { name: 'Run a container' });
    await dialog.getByLabel('Image', { exact: true }).fill(TEST_IMAGE);
    await dialog.getByLabel('Name', { exact: true }).fill(NAME);
    await dialog.getByLabel('Command', { exact: true }).fill(COMMAND);
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();

    const row = page.getByRole('table', { name: 'Containers' }).getByRole('row').filter({ has: page.getByRole('link', { name: NAME, exact: true }) });
    await expect.poll(async () => (await row.count()) > 0 && /running/i.test((await row.textContent()) ?? ''), { timeout: 15_000 }).toBe(true);
    const info = await daemon().dockerode.getContainer(NAME).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Cmd).toEqual(['sh', '-c', 'while true; do echo tick; sleep 1; done']);
    await browser().screenshot('containers-running');
  });

  it('a terminal session runs commands and survives switching tabs', async () => {
    const { page } = browser();
    await page.getByRole('link', { name: NAME, exact: true }).click();
    await page.getByRole('heading', { name: NAME }).first().waitFor();
    await page.getByRole('tab', { name: 'Terminal' }).click();
    const terminal = page.getByLabel('Terminal', { exact: true });
    await terminal.locator('.xterm-rows').waitFor();
    await expect.poll(terminalText, { timeout: 10_000 }).toMatch(/[#$]\s*$/m); // the shell's prompt
    await terminal.click();
    await page.keyboard.type('echo hello-$((6*7))');
    await page.keyboard.press('Enter');
    await expect.poll(terminalText, { timeout: 10_000 }).toContain('hello-42');
    await browser().screenshot('terminal');

    await page.getByRole('tab', { name: 'Logs' }).click();
    await expect.poll(() => page.getByRole('main').textContent(), { timeout: 10_000 }).toContain('tick');
    await browser().screenshot('logs');
    await page.getByRole('tab', { name: 'Terminal' }).click();
    await expect.poll(terminalText, { timeout: 10_000 }).toContain('hello-42');
  });

  it('stats charts gain points while the container runs', async () => {
    const { page } = browser();
    await page.getByRole('tab', { name: 'Stats' }).click();
    await page.locator('figure[aria-label="CPU"]').waitFor();
    await expect.poll(() => points('CPU'), { timeout: 10_000 }).toBeGreaterThan(0);
    const cpu0 = await points('CPU');
    const mem0 = await points('Memory');
    await expect.poll(() => points('CPU'), { timeout: 10_000 }).toBeGreaterThanOrEqual(cpu0 + 2);
    await expect.poll(() => points('Memory'), { timeout: 10_000 }).toBeGreaterThanOrEqual(mem0 + 2);
    await browser().screenshot('stats');
  });

  it('stops and removes it from the table, confirming the removal', async () => {
    const { page } = browser();
    await page.getByRole('link', { name: 'Containers', exact: true }).click();
    const table = page.getByRole('table', { name: 'Containers' });
    await table.getByRole('button', { name: `Stop ${NAME}`, exact: true }).click();
    await expect.poll(async () => (await daemon().dockerode.getContainer(NAME).inspect()).State.Running, { timeout: 20_000 }).toBe(false);
    const row = table.getByRole('row').filter({ has: page.getByRole('link', { name: NAME, exact: true }) });
    await expect.poll(async () => /exited/i.test((await row.textContent()) ?? ''), { timeout: 10_000 }).toBe(true);

    await table.getByRole('button', { name: `Remove ${NAME}`, exact: true }).click();
    const confirm = page.getByRole('dialog', { name: /remove/i });
    await confirm.getByRole('button', { name: 'Remove', exact: true }).click();
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    expect((await daemon().dockerode.listContainers({ all: true })).map((c) => c.Names)).toEqual([]);
    expect(browser().pageErrors).toEqual([]);
  });
});
