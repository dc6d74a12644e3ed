import { describe, expect, it } from 'vitest';
import { useApp } from '../support/app.js';
import { useBrowser } from '../support/browser.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

/** The Dashboard's live charts sample the engine while a container runs. */
const daemon = useDaemon({ image: 'oci' });
const app = useApp(daemon);
const browser = useBrowser('dashboard');

function points(label: string): Promise<number> {
  return browser()
    .page.locator(`figure[aria-label="${label}"]`)
    .getAttribute('data-points')
    .then((v) => Number(v ?? 0));
}

describe('dashboard end to end', () => {
  it('the CPU and memory charts gain points with a running container', async () => {
    const run = await daemon().docker(['run', '-d', '--name', 'busy', '--network', 'none', TEST_IMAGE, 'sh', '-c', 'while true; do :; done']);
    expect(run.code, run.stderr).toBe(0);
    const { page } = browser();
    await page.goto(`${app().app.server.url}#/dashboard`);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    for (const name of ['Prune containers', 'Prune images', 'Prune volumes', 'Prune build cache']) {
      await page.getByRole('button', { name }).waitFor();
    }
    await page.locator('figure[aria-label="CPU (all containers)"]').waitFor();
    await expect.poll(() => points('CPU (all containers)'), { timeout: 10_000 }).toBeGreaterThan(0);
    const cpu0 = await points('CPU (all containers)');
    const mem0 = await points('Memory (all containers)');
    await expect.poll(() => points('CPU (all containers)'), { timeout: 10_000 }).toBeGreaterThanOrEqual(cpu0 + 2);
    await expect.poll(() => points('Memory (all containers)'), { timeout: 10_000 }).toBeGreaterThanOrEqual(mem0 + 2);
    await browser().screenshot('dashboard-live');
    expect(browser().pageErrors).toEqual([]);
    await daemon().docker(['rm', '-f', 'busy']);
  });
});
