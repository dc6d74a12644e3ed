import { describe, expect, it } from 'vitest';
import { useApp } from '../support/app.js';
import { useBrowser } from '../support/browser.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

/** A volume made, browsed and written through the UI; the file is then read by a container. */
const daemon = useDaemon({ image: 'oci' });
const app = useApp(daemon);
const browser = useBrowser('volumes');

const VOLUME = 'e2e-vol';
const TEXT = 'hello from the e2e upload\n';

describe('volumes end to end', () => {
  it('creates a volume from the dialog', async () => {
    const { page } = browser();
    await page.goto(`${app().app.server.url}#/volumes`);
    await page.getByRole('heading', { name: 'Volumes', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Create volume' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a volume' });
    await dialog.getByLabel('Name', { exact: true }).fill(VOLUME);
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('table', { name: 'Volumes' }).getByRole('link', { name: `Browse ${VOLUME}` }).waitFor();
    expect((await daemon().dockerode.getVolume(VOLUME).inspect()).Name).toBe(VOLUME);
  });

  it('uploads a file into it, lists it and previews its text', async () => {
    const { page } = browser();
    await page.getByRole('link', { name: `Browse ${VOLUME}` }).click();
    await page.getByRole('heading', { name: `Volume ${VOLUME}` }).waitFor();
    await page.getByLabel('Upload file').setInputFiles({ name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from(TEXT) });
    const files = page.getByRole('table', { name: 'Files' });
    await files.getByRole('button', { name: 'hello.txt', exact: true }).click();
    const preview = page.getByRole('region', { name: 'Preview' });
    await expect.poll(() => preview.textContent(), { timeout: 10_000 }).toContain(TEXT.trim());
    await browser().screenshot('volume-preview');

    const cat = await daemon().docker(['run', '--rm', '--network', 'none', '-v', `${VOLUME}:/data`, TEST_IMAGE, 'cat', '/data/hello.txt']);
    expect(cat.code, cat.stderr).toBe(0);
    expect(cat.stdout).toBe(TEXT);
    expect(browser().pageErrors).toEqual([]);
  });
});
