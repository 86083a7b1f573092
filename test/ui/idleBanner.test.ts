// The idle-stop warning on the workspace page in real Chromium, on a real server and workspace
// with sessions.idleTimeout at its minimum (1 min, so the warning comes 48 s after the start, on
// the real clock): the banner names the stop time, and opening a terminal withdraws it.
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launchChromium, signIn, terminalScreen } from './browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startUiStack, type UiStack } from './uiStack.js';

describe('idle warning banner in Chromium', () => {
  let stack: UiStack;
  let browser: Browser;

  beforeAll(async () => {
    const webDir = mkdtempSync(join(tmpdir(), 'rc-ui-web-'));
    cpSync(join(process.cwd(), 'dist', 'web'), webDir, { recursive: true });
    stack = await startUiStack({ webDir, flags: { 'sessions.idleTimeout': '1m' } });
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows when the workspace stops for inactivity, and goes once a terminal is open', async () => {
    const { services } = stack.server;
    const admin = await services.users.byEmail(ADMIN_EMAIL);
    if (!admin) throw new Error('no admin');
    const { row } = await services.runtime.service.create(admin.id, { repository: stack.repo('app') });
    expect((await services.runtime.service.settled(row.id))?.status).toBe('running');

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signIn(page, stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.goto(`${stack.url}/workspaces/${row.id}`);
    const banner = page.getByRole('status', { name: 'Stopping soon for inactivity' });
    await banner.waitFor({ timeout: 90_000 });
    const warned = await services.workspaces.byId(row.id);
    const stopAt = new Date(String(warned?.idle_stop_at));
    const hhmm = stopAt.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    expect(await banner.textContent()).toContain(
      `This workspace stops at ${hhmm} for inactivity — open a terminal or run a task to keep it.`,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'workspace-idle-warning.png') });

    await page.getByRole('tab', { name: 'Terminals' }).click();
    await page.getByRole('button', { name: 'New terminal' }).click();
    await expect.poll(() => terminalScreen(page), { timeout: 30_000 }).toMatch(/\$/);
    await banner.waitFor({ state: 'detached', timeout: 30_000 });
    expect((await services.workspaces.byId(row.id))?.status).toBe('running');
    await context.close();
  }, 180_000);
});
