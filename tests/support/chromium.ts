import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/**
 * Debian's Chromium (/usr/bin/chromium) through playwright-core, without vitest: the
 * benchmarks use this; the tests use browser.ts on top of it.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export interface BrowserOptions {
  /** An X display (`:99`) to run headful on; headless without. */
  readonly display?: string;
  /** Extra Chromium arguments (`--app=URL`). */
  readonly args?: readonly string[];
  readonly viewport?: { readonly width: number; readonly height: number };
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
