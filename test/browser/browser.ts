/// <reference lib="dom" />
// Callbacks of page.evaluate() run in the browser, with its globals.
import { AxeBuilder } from '@axe-core/playwright';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium; Playwright's own browser download is not used. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Starts headless Chromium with a fresh temporary profile.
 * @throws Error with the fix when the browser is missing (the suite must not pass silently)
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** One axe-core finding, short enough for an assertion message. */
export interface AxeFinding {
  readonly id: string;
  readonly impact: string | null | undefined;
  readonly nodes: string[];
}

/** Runs axe-core (WCAG 2.x A/AA and best practices) on the page; returns the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<AxeFinding[]> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'])
    .analyze();
  return result.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      nodes: violation.nodes.map((node) => node.target.join(' ')),
    }));
}

/** Everything a page could still hold a secret in: its DOM (with field values), storages, URL and history state. */
export async function pageMemory(page: Page): Promise<string> {
  return page.evaluate(() => {
    const values = [...document.querySelectorAll('input, textarea, output')].map(
      (field) => (field as HTMLInputElement).value ?? field.textContent,
    );
    const storage = (store: Storage) => Object.keys(store).map((name) => `${name}=${store.getItem(name)}`);
    return JSON.stringify({
      html: document.documentElement.outerHTML,
      values,
      local: storage(localStorage),
      session: storage(sessionStorage),
      url: location.href,
      history: [history.length, JSON.stringify(history.state)],
      title: document.title,
    });
  });
}
