// The sign-in page in real Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against a real server: first sign-in with the generated one-time password, choosing a new one,
// and signing out. Screenshots land in test-artifacts/ to be looked at.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/loadConfig.js';
import { type RunningServer, startServer } from '../../server/serve.js';
import { FAST_ARGON2 } from '../support/testApp.js';
import { ARTIFACTS, launchChromium } from './browser.js';

describe('sign-in page in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  const printed: string[] = [];
  const emailOf = () =>
    printed.find((l) => l.startsWith('Created the first administrator: '))?.split(': ')[1] as string;

  beforeAll(async () => {
    const config = loadConfig({
      env: {},
      flags: {
        'server.port': 0,
        dataDir: mkdtempSync(join(tmpdir(), 'rc-ui-')),
        'log.level': 'silent',
        ...FAST_ARGON2,
      },
    });
    server = await startServer(config, { print: (line) => printed.push(line) });
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs in with the one-time password, makes the user choose a new one, then signs out', async () => {
    const email = emailOf();
    const oneTime = printed.find((l) => l.startsWith('One-time password'))?.split(': ')[1] as string;
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(server.url);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/^Password/).fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('not correct');
    await page.screenshot({ path: join(ARTIFACTS, 'sign-in-error.png') });

    await page.getByLabel(/^Password/).fill(oneTime);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Choose your own to continue').waitFor();
    // The one-time password carries over from the sign-in form.
    expect(await page.getByLabel(/^One-time password/).inputValue()).toBe(oneTime);
    await page.screenshot({ path: join(ARTIFACTS, 'sign-in-new-password.png') });
    await page.getByLabel(/^New password \(at least 12 characters\)/).fill('my own passphrase');
    await page.getByLabel(/^New password again/).fill('my own passphrase, typo');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('differ');
    await page.getByLabel(/^New password again/).fill('my own passphrase');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'signed-in-dashboard-phone.png') });

    // On a phone the navigation hides behind the menu button.
    await page.getByRole('button', { name: 'Account' }).click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const relogin = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'my own passphrase' }),
    });
    expect(((await relogin.json()) as { passwordChangeRequired: boolean }).passwordChangeRequired).toBe(
      false,
    );
    // The old session is gone: a reload shows the sign-in form again.
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  it('opens the page a shared link points at after signing in', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/settings`);
    await page.getByLabel('Email').fill(emailOf());
    await page.getByLabel(/^Password/).fill('my own passphrase');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor({ state: 'attached' });
    expect(new URL(page.url()).pathname).toBe('/settings');
    expect(await page.getByRole('link', { name: 'Settings' }).first().getAttribute('aria-current')).toBe(
      'page',
    );
  });
});
