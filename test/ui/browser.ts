// Debian's Chromium driven by playwright-core (never a downloaded browser), with the flags this
// closed network needs, and sign-in through the real form.
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Where the UI tests save their screenshots, to be looked at (git ignores it). */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Signs in through the sign-in form and waits for the signed-in shell. */
export async function signIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(baseUrl);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** The visible terminal's screen, one line per row, with plain spaces. */
export async function terminalScreen(page: Page): Promise<string> {
  const rows = await page
    .locator('[role=tabpanel][aria-label^="Terminal"]:visible .xterm-rows > div')
    .allTextContents();
  return rows.join('\n').replace(/\u00a0/g, ' ');
}

/** Monaco's rendered lines (in DOM order, which is fine for "contains"), with plain spaces. */
export async function editorText(page: Page): Promise<string> {
  return (await page.locator('.monaco-editor .view-line').allTextContents())
    .join('\n')
    .replace(/\u00a0/g, ' ');
}
