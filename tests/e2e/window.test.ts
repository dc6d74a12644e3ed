import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useApp } from '../support/app.js';
import { ARTIFACTS_DIR, CHROMIUM, CHROMIUM_ARGS } from '../support/browser.js';
import { useDaemon } from '../support/suite.js';
import { startXvfb, type VirtualDisplay } from '../support/xvfb.js';

/**
 * The app once in a real window: Chromium headful in app mode (`--app=URL`: one window, no
 * browser UI, as the Electron window shows it) on a virtual display, against browser mode and
 * a real berthd.
 */
const daemon = useDaemon({ image: 'oci' });
const app = useApp(daemon);

let xvfb: VirtualDisplay | undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  xvfb = await startXvfb();
  profile = await mkdtemp(join(tmpdir(), 'berth-e2e-profile-'));
});

afterAll(async () => {
  await context?.close();
  await xvfb?.stop();
  if (profile !== undefined) await rm(profile, { recursive: true, force: true });
});

describe('the app in a real window (Xvfb)', () => {
  it('opens in an app-mode window on the display and renders the Containers view', async () => {
    if (xvfb === undefined || profile === undefined) throw new Error('no display');
    await daemon().docker(['create', '--name', 'in-window', 'berth.test/busybox:latest', 'true']);
    const url = `${app().app.server.url}#/containers`;
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: false,
      env: { ...process.env, DISPLAY: xvfb.display },
      args: [...CHROMIUM_ARGS, `--app=${url}`, '--window-size=1280,800', '--window-position=0,0'],
      viewport: null,
    });
    const page = context.pages().find((p) => p.url().startsWith(app().app.server.origin)) ?? (await context.waitForEvent('page'));
    await page.getByRole('heading', { name: 'Containers', level: 1 }).waitFor({ timeout: 20_000 });
    await page.getByRole('link', { name: 'in-window' }).waitFor({ timeout: 20_000 });

    const shown = await page.evaluate(() => ({ ua: navigator.userAgent, visible: document.visibilityState, width: window.innerWidth, height: window.innerHeight }));
    expect(shown.ua).not.toContain('Headless');
    expect(shown.visible).toBe('visible');
    expect(shown.width).toBeGreaterThan(800);
    expect(shown.height).toBeGreaterThan(500);
    for (const name of ['Dashboard', 'Containers', 'Images', 'Volumes', 'Networks', 'Settings']) {
      await page.getByRole('link', { name, exact: true }).waitFor({ timeout: 5000 });
    }

    const path = join(ARTIFACTS_DIR, 'window', 'containers-window.png');
    await page.screenshot({ path });
    expect((await stat(path)).size).toBeGreaterThan(10_000); // a rendered page, not a blank frame
  });
});
