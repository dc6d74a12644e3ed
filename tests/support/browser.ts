import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type LaunchOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { REPO_ROOT } from './paths.js';

/**
 * Debian's Chromium (/usr/bin/chromium) driven by playwright-core, for the end-to-end tests
 * and the app benchmarks:
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
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export const ARTIFACTS_DIR = join(REPO_ROOT, '.tmp', 'e2e-artifacts');

export interface BrowserOptions {
  /** An X display (`:99`) to run headful on; headless without. */
  readonly display?: string;
  /** Extra Chromium arguments (`--app=URL`). */
  readonly args?: readonly string[];
  readonly viewport?: { readonly width: number; readonly height: number };
}

export interface BrowserUnderTest {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly pageErrors: string[];
  /** Saves a PNG of the page to .tmp/e2e-artifacts/<test>/<name>.png and returns its path. */
  screenshot(name: string, page?: Page): Promise<string>;
}

export function launchChromium(opts: BrowserOptions = {}): Promise<Browser> {
  const launch: LaunchOptions = {
    executablePath: CHROMIUM,
    headless: opts.display === undefined,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
    ...(opts.display === undefined ? {} : { env: { ...process.env, DISPLAY: opts.display } }),
  };
  return chromium.launch(launch);
}

export async function openBrowser(testName: string, opts: BrowserOptions = {}): Promise<BrowserUnderTest & { close(): Promise<void> }> {
  const dir = join(ARTIFACTS_DIR, testName);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const browser = await launchChromium(opts);
  try {
    const context = await browser.newContext({ viewport: { width: opts.viewport?.width ?? 1280, height: opts.viewport?.height ?? 800 } });
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
  afterAll(async () => {
    await current?.close();
  });
  return () => {
    if (current === undefined) throw new Error('useBrowser(): the browser starts in beforeAll');
    return current;
  };
}
