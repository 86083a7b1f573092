// The sign-in page in real Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against a real server: first sign-in with the generated one-time password, choosing a new one,
// and signing out. Screenshots land in test-artifacts/ to be looked at.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/loadConfig.js';
import { type RunningServer, startServer } from '../../server/serve.js';
import { FAST_ARGON2 } from '../support/testApp.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');

describe('sign-in page in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  const printed: string[] = [];

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
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs in with the one-time password, makes the user choose a new one, then signs out', async () => {
    const email = printed
      .find((l) => l.startsWith('Created the first administrator: '))
      ?.split(': ')[1] as string;
    const oneTime = printed.find((l) => l.startsWith('One-time password'))?.split(': ')[1] as string;
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(server.url);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('not correct');

    await page.getByLabel('Password', { exact: true }).fill(oneTime);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Choose your own to continue').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'sign-in-new-password.png') });
    await page.getByLabel('New password (at least 12 characters)').fill('my own passphrase');
    await page.getByLabel('New password again').fill('my own passphrase');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText(`Signed in as ${email}`).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'signed-in.png') });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const relogin = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'my own passphrase' }),
    });
    expect(((await relogin.json()) as { passwordChangeRequired: boolean }).passwordChangeRequired).toBe(
      false,
    );
  });
});
