import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { useApp } from '../support/app.js';
import { useBrowser } from '../support/browser.js';
import { TEST_IMAGE } from '../support/fixtures.js';
import { useDaemon } from '../support/suite.js';

/**
 * "Everything reachable by keyboard and labelled for assistive tech": axe-core's WCAG 2 A/AA
 * checks on every view, in the light and the dark theme, and the main flow driven by keys only.
 */
const daemon = useDaemon({ image: 'oci' });
const app = useApp(daemon);
const browser = useBrowser('accessibility');
const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

async function violations(page: Page): Promise<string[]> {
  // Injected through the debugger protocol, which the page's CSP (script-src 'self') allows.
  await page.evaluate(await axeSource);
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Violation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
    return result.violations;
  });
  return found.map((v) => `${v.impact ?? ''} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
}

async function must(args: string[]): Promise<string> {
  const r = await daemon().docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('accessibility', () => {
  it('every view passes WCAG 2 A/AA checks in both themes', async () => {
    const id = await must(['run', '-d', '--name', 'a11y-web', TEST_IMAGE, 'sh', '-c', 'while true; do echo tick; sleep 1; done']);
    await must(['volume', 'create', 'a11y-data']);
    const { page } = browser();
    const views = ['dashboard', 'containers', `containers/${id}/logs`, `containers/${id}/inspect`, `containers/${id}/terminal`, `containers/${id}/stats`, `containers/${id}/files`, 'images', 'volumes', 'volumes/a11y-data/browse', 'networks', 'settings'];
    const problems: string[] = [];
    for (const theme of ['light', 'dark'] as const) {
      await app().bridge.invoke('settings:update', { theme });
      for (const view of views) {
        await page.goto(`${app().app.server.url}#/${view}`);
        await page.getByRole('heading', { level: 1 }).first().waitFor();
        await page.waitForTimeout(800); // lists and charts fill in
        for (const v of await violations(page)) problems.push(`${theme} ${view}: ${v}`);
      }
    }
    await app().bridge.invoke('settings:update', { theme: 'system' });
    expect(problems).toEqual([]);
  });

  it('runs a container with the keyboard alone', async () => {
    const { page } = browser();
    await page.goto(`${app().app.server.url}#/containers`);
    await page.getByRole('heading', { name: 'Containers', level: 1 }).waitFor();
    // Tab until the Run button has focus: it must be reachable, and soon.
    let reached = false;
    for (let i = 0; i < 30 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent?.trim() === 'Run container');
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Run a container' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await page.keyboard.press('Enter'); // focus returned to the button
    await dialog.waitFor();
    await dialog.getByLabel('Image', { exact: true }).fill(TEST_IMAGE);
    await dialog.getByLabel('Name', { exact: true }).fill('keyboard-run');
    await dialog.getByLabel('Command', { exact: true }).fill('sleep 60');
    await dialog.getByLabel('Command', { exact: true }).press('Enter');
    await page.getByRole('link', { name: 'keyboard-run', exact: true }).waitFor();
    const state = await must(['inspect', '-f', '{{.State.Status}}', 'keyboard-run']);
    expect(state).toBe('running');
  });
});
