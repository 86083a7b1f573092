// Screenshots of a signed-in page for looking at: at desktop width and on a 390-px phone, once
// toasts are dismissed and transitions are over, checking on the phone that the page itself never
// scrolls sideways (wide tables scroll inside their own container).
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const SLOW = { timeout: 20_000 };

/** Saves `<name>-desktop.png` (1280 px) and `<name>-phone.png` (390 px) in `dir`, full page. */
export async function shootPage(dir: string, page: Page, name: string): Promise<void> {
  // Toasts of earlier steps would cover the page's top: dismiss them.
  const toasts = page.locator('.mantine-Notification-root');
  for (const close of await toasts.locator('button').all()) await close.click().catch(() => {});
  await expect.poll(() => toasts.count(), SLOW).toBe(0);
  await ready(page);
  await page.screenshot({ path: join(dir, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  // The navigation folds away behind the menu button with a transition; shoot once it is done.
  await page.getByRole('button', { name: 'Menu' }).waitFor();
  await ready(page);
  await expect.poll(() => page.evaluate(overflow), SLOW).toBeLessThanOrEqual(0);
  await page.screenshot({ path: join(dir, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole('button', { name: 'Menu' }).waitFor({ state: 'hidden' });
  await settled(page);
}

/** Waits until no CSS transition or finite animation runs (a spinner's never ends). */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    (globalThis as unknown as PageGlobals).document
      .getAnimations()
      .every(
        (a) => a.playState !== 'running' || a.effect?.getTiming().iterations === Number.POSITIVE_INFINITY,
      ),
  );
}

/** Scrolled to the top (a full-page shot of a scrolled page draws the fixed header mid-page), still. */
async function ready(page: Page): Promise<void> {
  await page.evaluate(() => (globalThis as unknown as PageGlobals).scrollTo(0, 0));
  await settled(page);
}

/** How far the page is wider than the window (positive: it scrolls sideways). */
function overflow(): number {
  const g = globalThis as unknown as PageGlobals;
  return g.document.documentElement.scrollWidth - g.innerWidth;
}

/**
 * The page's globals that the functions above use there. Playwright sends their source to
 * the page, so they cannot call helpers; and this file is type-checked without the DOM library.
 * (String expressions would need 'unsafe-eval', which the UI's CSP refuses.)
 */
interface PageGlobals {
  innerWidth: number;
  scrollTo(x: number, y: number): void;
  document: {
    documentElement: { scrollWidth: number };
    getAnimations(): { playState: string; effect: { getTiming(): { iterations?: number } } | null }[];
  };
}
