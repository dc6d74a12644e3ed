import { describe, expect, it, beforeAll } from 'vitest';
import { useApp } from '../support/app.js';
import { useBrowser } from '../support/browser.js';
import { fixturePath, TEST_IMAGE } from '../support/fixtures.js';
import { busyboxImage, imageOf, randomLayer, RegistrySeeder } from '../support/registry-seed.js';
import { useRegistry } from '../support/registry.js';
import { useDaemon } from '../support/suite.js';

/**
 * Images through the UI on a berthd that starts without any: load the test image's archive,
 * a bad name refused with a message, and a pull from a loopback registry showing its progress.
 */
const daemon = useDaemon({});
const registry = useRegistry(() => ({ netns: daemon().netns }));
const app = useApp(daemon);
const browser = useBrowser('images');

beforeAll(async () => {
  const busybox = await busyboxImage();
  // a layer big enough that the pull lasts a few progress updates
  const big = imageOf([...busybox.layers, await randomLayer('big.bin', 24_000_000)]);
  await new RegistrySeeder(registry().url).pushImage('e2e/big', 'latest', big);
}, 120_000);

describe('images end to end', () => {
  it('loads an image archive and lists it', async () => {
    expect(await daemon().dockerode.listImages()).toEqual([]);
    const { page } = browser();
    await page.goto(`${app().app.server.url}#/images`);
    await page.getByRole('heading', { name: 'Images', level: 1 }).waitFor();
    await page.getByLabel('Image archive').setInputFiles(fixturePath('ociTar'));
    await page.getByRole('button', { name: 'Load', exact: true }).click();
    const table = page.getByRole('table', { name: 'Images' });
    await expect.poll(() => table.textContent(), { timeout: 20_000 }).toContain('berth.test/busybox');
    expect((await daemon().dockerode.getImage(TEST_IMAGE).inspect()).RepoTags).toContain(TEST_IMAGE);
  });

  it('refuses a bad image name with a message', async () => {
    const { page } = browser();
    await page.getByLabel('Image to pull').fill('Not A Valid/Name');
    await page.getByRole('button', { name: 'Pull', exact: true }).click();
    const alert = page.getByRole('alert').filter({ hasText: /name|reference|invalid/i });
    await alert.first().waitFor({ timeout: 10_000 });
    await browser().screenshot('bad-name');
  });

  it('pulls from a registry, showing per-layer progress', async () => {
    const { page } = browser();
    // The progress region may come and go quickly: record whether it ever showed progress bars.
    await page.evaluate(() => {
      const w = window as unknown as { sawProgress: number };
      w.sawProgress = 0;
      new MutationObserver(() => {
        const region = document.querySelector('[aria-label="Pull progress"]');
        if (region !== null) w.sawProgress = Math.max(w.sawProgress, region.querySelectorAll('[role="progressbar"]').length);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    const ref = `${registry().host}/e2e/big:latest`;
    await page.getByLabel('Image to pull').fill(ref);
    await page.getByRole('button', { name: 'Pull', exact: true }).click();
    const table = page.getByRole('table', { name: 'Images' });
    await expect.poll(() => table.textContent(), { timeout: 60_000 }).toContain(`${registry().host}/e2e/big`);
    const saw = await page.evaluate(() => (window as unknown as { sawProgress: number }).sawProgress);
    expect(saw).toBeGreaterThanOrEqual(1);
    expect((await daemon().dockerode.getImage(ref).inspect()).RepoTags).toContain(ref);
    expect(browser().pageErrors).toEqual([]);
  });
});
