// Single sign-on from the web UI in real Chromium: the sign-in page offers the identity provider's
// button when OIDC is configured, the whole redirect dance runs in the browser against a real
// provider (oidc-provider on loopback), and the user lands signed in on the page they asked for.
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oidcTestFlags, startOidcProvider, type TestOidcProvider } from '../support/oidcProvider.js';
import { createTestApp, type TestApp } from '../support/testApp.js';
import { launchChromium } from './browser.js';

describe('OIDC sign-in from the web UI', () => {
  let idp: TestOidcProvider;
  let t: TestApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    idp = await startOidcProvider();
    t = await createTestApp('sqlite', { flags: oidcTestFlags(idp) });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    t.services.publicUrl = base;
    idp.setRedirectUri(`${base}/api/v1/auth/oidc/callback`);
    await t.services.oidc?.discover();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await idp?.close();
  });

  it('signs in through the provider’s button and lands on the page the link named', async () => {
    idp.signInAs('ui-sso', { email: 'sso.user@example.test', emailVerified: true, name: 'Sso User' });
    const page = await browser.newPage();
    await page.goto(`${base}/settings`);
    await page.getByRole('link', { name: 'Sign in with TestID' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor({ state: 'attached', timeout: 30_000 });
    expect(new URL(page.url()).pathname).toBe('/settings');
    await page.getByText('sso.user@example.test').first().waitFor();
  });

  it('explains a refused sign-in in words', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/?error=oidc_domain_not_allowed`);
    await expect
      .poll(() => page.getByRole('alert').first().textContent())
      .toBe('Your email domain may not sign in here.');
  });
});
