import { describe, expect, it } from 'vitest';
import { useApp } from '../support/app.js';
import { useBrowser } from '../support/browser.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

/**
 * A screenshot of every view with something in it, kept under .tmp/e2e-artifacts/screenshots/
 * for review: Dashboard, Containers, each of a container's tabs, Images, Volumes, a volume's
 * browser, Networks, Settings. Each view must render its heading first.
 */
const daemon = useDaemon({ image: 'oci' });
const app = useApp(daemon);
const browser = useBrowser('screenshots');

async function must(args: string[]): Promise<void> {
  const r = await daemon().docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
}

describe('every view', () => {
  it('renders and is captured', async () => {
    await must(['volume', 'create', 'shots-data']);
    await must(['network', 'create', 'shots-net']);
    await must(['run', '-d', '--name', 'shots-web', '--network', 'shots-net', '-v', 'shots-data:/data', TEST_IMAGE, 'sh', '-c', 'echo ready > /data/status.txt; while true; do echo tick; sleep 1; done']);
    await must(['create', '--name', 'shots-idle', TEST_IMAGE, 'true']);

    const { page, screenshot } = browser();
    await page.goto(app().app.server.url);
    const shots: string[] = [];
    const view = async (link: string, heading: string, name: string): Promise<void> => {
      await page.getByRole('navigation').getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.waitForTimeout(2500); // charts gain a few points, lists fill in
      shots.push(await screenshot(name));
    };

    await view('Dashboard', 'Dashboard', 'dashboard');
    await view('Containers', 'Containers', 'containers');
    await page.getByRole('link', { name: 'shots-web', exact: true }).click();
    await page.getByRole('heading', { name: 'shots-web' }).first().waitFor();
    for (const tab of ['Logs', 'Inspect', 'Terminal', 'Stats', 'Files']) {
      await page.getByRole('tab', { name: tab }).click();
      await page.waitForTimeout(1500);
      shots.push(await screenshot(`container-${tab.toLowerCase()}`));
    }
    await view('Images', 'Images', 'images');
    await view('Volumes', 'Volumes', 'volumes');
    await page.getByRole('link', { name: 'Browse shots-data' }).click();
    await page.getByRole('heading', { name: 'Volume shots-data' }).waitFor();
    await page.getByRole('table', { name: 'Files' }).getByRole('button', { name: 'status.txt', exact: true }).waitFor();
    shots.push(await screenshot('volume-browse'));
    await view('Networks', 'Networks', 'networks');
    await view('Settings', 'Settings', 'settings');

    expect(shots).toHaveLength(12);
    expect(browser().pageErrors).toEqual([]);
    await must(['rm', '-f', 'shots-web', 'shots-idle']);
  });
});
