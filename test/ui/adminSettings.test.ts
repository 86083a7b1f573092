// The admin, settings and resource pages in real Chromium against the real server: an admin
// creates a user, changes its role and puts it in a team, finds that in the audit log, mints and
// revokes an API token, saves an Anthropic key, and reads the monitor; then the new member signs
// in and sees only what a member may. Screenshots of every page, desktop and phone, land in
// test-artifacts/ to be looked at.
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launchChromium, signIn } from './browser.js';
import { shootPage } from './shootPage.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startUiStack, type UiStack } from './uiStack.js';

const MEMBER_EMAIL = 'dana@ui.test';
const MEMBER_PASSWORD = 'dana member passphrase';
const TEAM = 'Backend';
/** Polls may wait out a busy machine. */
const SLOW = { timeout: 20_000 };
// "sk-ant-" and 30 more characters, ending in a recognisable last four.
const KEY = `sk-ant-${'e2e-test-key-'.padEnd(26, 'x')}k9Z4`;

describe('admin, settings and monitor pages in Chromium', () => {
  let stack: UiStack;
  let browser: Browser;
  let adminToken: string;
  let taskId: string;
  const pageErrors: string[] = [];

  /** GET as `token` (the admin's checking token by default): the status and the parsed body. */
  const get = async <T = Record<string, unknown>>(path: string, token = adminToken) => {
    const res = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as T };
  };

  beforeAll(async () => {
    stack = await startUiStack();
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
    // A cookie session, then an API token of the admin's for checking what the pages did.
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${stack.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const login = await post('/api/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    const session = {
      cookie: login.headers.get('set-cookie')?.split(';')[0] ?? '',
      'x-csrf-token': ((await login.json()) as { csrfToken: string }).csrfToken,
    };
    adminToken = (
      (await (await post('/api/v1/tokens', { name: 'checks' }, session)).json()) as { token: string }
    ).token;
    // A real task, so the gateway records model usage for the cost table; it runs meanwhile.
    const task = await post('/api/v1/tasks', { repository: stack.repo('app'), prompt: 'say ok' }, session);
    expect(task.status).toBe(201);
    taskId = ((await task.json()) as { id: string }).id;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  let admin: Page;

  it('creates a user, changes its role and shows the last sign-in in Admin › Users', async () => {
    admin = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    admin.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(admin, stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    await nav(admin, 'Admin');
    await admin.getByRole('heading', { name: 'Admin' }).waitFor();
    await admin.getByRole('button', { name: 'New user' }).click();
    const dialog = admin.getByRole('dialog', { name: 'New user' });
    await dialog.getByLabel(/^Email/).fill(MEMBER_EMAIL);
    await dialog.getByLabel('Name').fill('Dana Scully');
    await pick(admin, dialog.getByRole('combobox', { name: 'Role' }), 'Viewer');
    await dialog.getByLabel(/^Password/).fill(MEMBER_PASSWORD);
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const role = admin.getByRole('combobox', { name: `Role of ${MEMBER_EMAIL}` });
    await expect.poll(() => role.inputValue(), SLOW).toBe('Viewer');
    await pick(admin, role, 'Member');
    await expect.poll(() => userRole(MEMBER_EMAIL), SLOW).toBe('member');
    await expect.poll(() => role.inputValue(), SLOW).toBe('Member');
    // The signed-in admin's own row says when they last signed in; the new user never has.
    const own = admin.getByRole('row').filter({ hasText: ADMIN_EMAIL });
    await expect.poll(() => own.textContent(), SLOW).toContain('just now');
    expect(await admin.getByRole('row').filter({ hasText: MEMBER_EMAIL }).textContent()).toContain('never');
    await shootPage(ARTIFACTS, admin, 'admin-users');
  }, 120_000);

  it('creates a team and adds the member in Admin › Teams', async () => {
    // The tabs follow the arrow keys.
    await admin.getByRole('tab', { name: 'Users' }).focus();
    await admin.keyboard.press('ArrowRight');
    await expect
      .poll(() => admin.getByRole('tab', { name: 'Teams' }).getAttribute('aria-selected'), SLOW)
      .toBe('true');
    await admin.getByRole('button', { name: 'New team' }).click();
    const dialog = admin.getByRole('dialog', { name: 'New team' });
    await dialog.getByLabel(/^Team name/).fill(TEAM);
    await dialog.getByLabel('Description').fill('Services and APIs');
    await dialog.getByRole('button', { name: 'Create team' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const card = admin.getByRole('region', { name: `Team ${TEAM}` });
    await card.getByRole('combobox', { name: 'Add member' }).fill('dana');
    await admin.getByRole('option', { name: /Dana Scully/ }).click();
    await card.getByRole('button', { name: 'Add', exact: true }).click();
    await card
      .getByRole('table', { name: `Members of ${TEAM}` })
      .getByText(MEMBER_EMAIL)
      .waitFor();
    const teams = await get<{ items: { name: string; members: unknown[] }[] }>('/api/v1/teams');
    expect(teams.body.items.find((t) => t.name === TEAM)?.members).toMatchObject([
      { email: MEMBER_EMAIL, role: 'member' },
    ]);
    expect(new URL(admin.url()).search).toBe('?tab=teams');
    await shootPage(ARTIFACTS, admin, 'admin-teams');
  }, 120_000);

  it('filters the audit log by an action prefix and shows the user.create entry', async () => {
    await admin.getByRole('tab', { name: 'Audit log' }).click();
    const log = admin.getByRole('table', { name: 'Audit log' });
    await log.getByText('team.member_put').waitFor();
    await admin.getByLabel('Action').fill('user.');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    // The previous entries stay until the filtered page arrives.
    await expect.poll(() => log.getByText('team.member_put').count(), SLOW).toBe(0);
    await log.getByText('user.role_changed').waitFor();
    expect(await log.getByText('auth.login').count()).toBe(0);
    await log.getByRole('button', { name: /^Show details of user\.create / }).click();
    const detail = log.locator('pre').filter({ hasText: MEMBER_EMAIL });
    await detail.waitFor();
    expect(await detail.textContent()).toContain('"role": "viewer"');
    expect(await log.getByText('success').count()).toBeGreaterThan(0);
    await shootPage(ARTIFACTS, admin, 'admin-audit');
  }, 120_000);

  it('creates an API token, shows it once, and revokes it', async () => {
    await nav(admin, 'Settings');
    await admin.getByLabel(/^Token name/).fill('e2e laptop');
    await admin.getByRole('button', { name: 'Create token' }).click();
    const once = admin.getByLabel('Your new token');
    await once.waitFor();
    const token = await once.inputValue();
    expect(token).toMatch(/^rc_/);
    await admin.getByText('It will not be shown again').waitFor();
    expect(await get('/api/v1/me', token)).toMatchObject({
      status: 200,
      body: { user: { email: ADMIN_EMAIL } },
    });
    await shootPage(ARTIFACTS, admin, 'settings-token-once');

    await admin.getByRole('button', { name: 'I have copied it' }).click();
    await once.waitFor({ state: 'detached' });
    expect(await admin.content()).not.toContain(token);
    const row = admin.getByRole('row').filter({ hasText: 'e2e laptop' });
    await row.getByRole('button', { name: 'Revoke e2e laptop' }).click();
    await admin.getByRole('button', { name: 'Revoke token' }).click();
    await row.getByText('Revoked').waitFor();
    await expect.poll(async () => (await get('/api/v1/me', token)).status, SLOW).toBe(401);
  }, 120_000);

  it('saves an Anthropic key write-only and shows the server rule for a bad one', async () => {
    const input = admin.getByRole('textbox', { name: /^Anthropic API key/ });
    await input.fill(KEY);
    await admin.getByRole('button', { name: 'Save key' }).click();
    await savedKey(admin, 'k9Z4').waitFor();
    await expect.poll(() => input.inputValue(), SLOW).toBe('');
    expect(await admin.content()).not.toContain(KEY.slice(0, -4));
    expect((await get('/api/v1/me/secrets')).body).toEqual({
      items: [{ name: 'anthropic-api-key', last4: 'k9Z4', updatedAt: expect.any(String) }],
    });

    await input.fill('nope');
    await admin.getByRole('button', { name: 'Save key' }).click();
    await admin.getByText(/must be at least 20 characters/).waitFor();
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    await shootPage(ARTIFACTS, admin, 'settings');
  }, 120_000);

  it('shows the node, workspaces and the cost table on the monitor', async () => {
    // The task started in beforeAll has been through the gateway by now, or soon will be.
    const status = async () => (await get(`/api/v1/tasks/${taskId}`)).body.status;
    await expect.poll(status, { timeout: 120_000, interval: 500 }).toBe('succeeded');
    await nav(admin, 'Resources');
    const node = admin.getByRole('region', { name: 'Node local' });
    await node.waitFor();
    expect(await node.textContent()).toContain('Healthy');
    // Reserved against the capacity placement enforces: with none configured, the host's cores.
    const cores = availableParallelism();
    expect(await node.textContent()).toContain(`of ${cores} ${cores === 1 ? 'core' : 'cores'}`);
    expect(await node.textContent()).toContain("Capacity: the host's own size");
    const replicas = admin.getByRole('table', { name: 'Replicas' });
    await replicas.waitFor();
    expect(await replicas.textContent()).toMatch(/\(this one\).*Alive/);
    const cost = admin.getByRole('table', { name: 'Cost by user' });
    await cost.waitFor({ timeout: 30_000 });
    expect(await cost.textContent()).toContain(`${ADMIN_EMAIL} (you)`);
    expect(await cost.textContent()).toContain('Total');
    await admin.getByRole('table', { name: 'Workspace usage' }).waitFor();
    await shootPage(ARTIFACTS, admin, 'monitor');
  }, 180_000);

  it('gives the member no admin page but a working Settings page', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const member = await context.newPage();
    member.on('pageerror', (e) => pageErrors.push(e.message));
    const denied: string[] = [];
    member.on('response', (r) => {
      if (r.status() === 403) denied.push(r.url());
    });
    await signIn(member, stack.url, MEMBER_EMAIL, MEMBER_PASSWORD);
    const links = member.getByRole('navigation', { name: 'Main' }).getByRole('link');
    expect(await links.allTextContents()).not.toContain('Admin');
    await member.goto(`${stack.url}/admin`);
    await member.getByText('You need the admin role').waitFor();
    await shootPage(ARTIFACTS, member, 'member-admin');

    await nav(member, 'Settings');
    await member.getByText('Member', { exact: true }).waitFor();
    await member.getByText(`${TEAM} · member`).waitFor();
    await member.getByLabel(/^Token name/).fill('member cli');
    await member.getByRole('button', { name: 'Create token' }).click();
    const token = await member.getByLabel('Your new token').inputValue();
    expect((await get('/api/v1/me', token)).body).toMatchObject({
      user: { email: MEMBER_EMAIL, role: 'member' },
    });
    await member.getByRole('button', { name: 'I have copied it' }).click();
    await member
      .getByRole('textbox', { name: /^Anthropic API key/ })
      .fill(`sk-ant-${'member-key-'.padEnd(26, 'y')}mEm1`);
    await member.getByRole('button', { name: 'Save key' }).click();
    await savedKey(member, 'mEm1').waitFor();
    await member.getByLabel('Display name').fill('Dana K. Scully');
    await member.getByRole('button', { name: 'Save name' }).click();
    await member.getByRole('button', { name: 'Account' }).getByText('Dana K. Scully').waitFor();
    await shootPage(ARTIFACTS, member, 'member-settings');

    await nav(member, 'Resources');
    await member.getByRole('heading', { name: 'Your cost this month' }).waitFor();
    await member.getByText('No workspaces yet.').waitFor();
    expect(await member.getByRole('heading', { name: 'Nodes' }).count()).toBe(0);
    expect(await member.getByRole('heading', { name: 'Replicas' }).count()).toBe(0);
    await shootPage(ARTIFACTS, member, 'member-monitor');
    expect(denied).toEqual([]);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 120_000);

  /** Follows a link of the main navigation (the desktop layout shows it). */
  async function nav(page: Page, label: string) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click();
  }

  async function userRole(email: string): Promise<string | undefined> {
    const users = await get<{ items: { email: string; role: string }[] }>('/api/v1/users');
    return users.body.items.find((u) => u.email === email)?.role;
  }
});

/** The line of the Anthropic key section that names the saved key by its last four. */
const savedKey = (page: Page, last4: string) =>
  page.getByRole('region', { name: 'Anthropic API key' }).getByText(`Saved — ends in …${last4}`);

/** Opens a Mantine select and picks an option by its label. */
async function pick(page: Page, combobox: ReturnType<Page['getByRole']>, option: string) {
  await combobox.click();
  await page.getByRole('option', { name: option, exact: true }).click();
}
