import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { launchChromium, type BrowserOptions } from './chromium.js';
import { REPO_ROOT } from './paths.js';

export { CHROMIUM, CHROMIUM_ARGS, launchChromium, type BrowserOptions } from './chromium.js';

/**
 * A Chromium (chromium.ts) for an end-to-end test file, with a page and screenshots:
 *
 *   const browser = useBrowser('containers');
 *   it('runs one', async () => {
 *     const page = browser().page;
 *     await page.goto(app().app.server.url);
 *     await browser().screenshot('containers');   // .tmp/e2e-artifacts/containers/containers.png
 *   });
 *
 * beforeAll launches it (headless unless `display` is given) and opens one page, removing the
 * test's old artifacts; afterAll closes it even when tests failed. Errors the page throws are
 * kept in `pageErrors` so tests can assert there were none.
 */
export const ARTIFACTS_DIR = join(REPO_ROOT, '.tmp', 'e2e-artifacts');

export interface BrowserUnderTest {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly pageErrors: string[];
  /** Saves a PNG of the page to .tmp/e2e-artifacts/<test>/<name>.png and returns its path. */
  screenshot(name: string, page?: Page): Promise<string>;
}

export async function openBrowser(testName: string, opts: BrowserOptions = {}): Promise<BrowserUnderTest & { close(): Promise<void> }> {
  const dir = join(ARTIFACTS_DIR, testName);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const browser = await launchChromium(opts);
  try {
    const context = await browser.newContext({ viewport: { width: opts.viewport?.width ?? 1280, height: opts.viewport?.height ?? 800 } });
    // Fail a missing element in 15 s rather than playwright's 30 s: the e2e project stays short.
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    return {
      browser,
      context,
      page,
      pageErrors,
      async screenshot(name, which = page) {
        const path = join(dir, `${name}.png`);
        await which.screenshot({ path, fullPage: true });
        return path;
      },
      close: () => browser.close(),
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

export function useBrowser(testName: string, opts: BrowserOptions = {}): () => BrowserUnderTest {
  let current: (BrowserUnderTest & { close(): Promise<void> }) | undefined;
  beforeAll(async () => {
    current = await openBrowser(testName, opts);
  });
  // A failed test leaves a picture of the page it failed on.
  afterEach(async (ctx) => {
    if (current === undefined || ctx.task.result?.state !== 'fail') return;
    const name = `failed-${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`;
    await current.screenshot(name).catch(() => undefined);
  });
  afterAll(async () => {
    await current?.close();
  });
  return () => {
    if (current === undefined) throw new Error('useBrowser(): the browser starts in beforeAll');
    return current;
  };
}
