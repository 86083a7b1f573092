// The queue and quotas in real Chromium against the real stack: a member held to one concurrent
// task (an admin's override, set through the API) sees their waiting tasks' places and reasons on
// the tasks list and the task page, and a cancelled queued task's place goes to the next at once;
// the member's quota line and the priority select (no high for them); an admin's Queue panel on
// Resources; and an admin setting a team's override in Admin › Quotas, which the API then shows,
// the server's rule for a bad value under its input, and high priority offered to the member once
// their team allows it. Screenshots land in test-artifacts/ to be looked at.
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuotaOverride } from '../../sdk/schedulerWire.js';
import type { Task } from '../../sdk/taskWire.js';
import { ARTIFACTS, launchChromium, signIn } from './browser.js';
import { shootPage } from './shootPage.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startUiStack, type UiStack } from './uiStack.js';

const MEMBER_EMAIL = 'erin@ui.test';
const MEMBER_NAME = 'Erin Fielding';
const MEMBER_PASSWORD = 'erin member passphrase';
const TEAM = 'Research';
const SLOW = { timeout: 30_000 };
const LONG = { timeout: 120_000, interval: 500 };
const HELD = /has 1 of 1 concurrent tasks \(quotas\.maxConcurrentTasks\)/;

describe('queue and quotas in Chromium', () => {
  let stack: UiStack;
  let browser: Browser;
  let adminToken: string;
  let memberId: string;
  let teamId: string;
  let memberContext: BrowserContext;
  let member: Page;
  /** Holds the member's one concurrent task: it waits for its first approval. */
  let holder: Task;
  let first: Task;
  let second: Task;
  const pageErrors: string[] = [];

  const api = async <T>(method: string, path: string, body?: unknown, token = adminToken) => {
    const res = await fetch(`${stack.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  /** A call with the member's browser session (cookie and CSRF token). */
  async function asMember<T>(method: 'GET' | 'POST', path: string, data?: unknown): Promise<T> {
    const me = (await (await member.request.get(`${stack.url}/api/v1/me`)).json()) as { csrfToken: string };
    const res = await member.request.fetch(`${stack.url}${path}`, {
      method,
      headers: { 'x-csrf-token': me.csrfToken },
      ...(data === undefined ? {} : { data }),
    });
    if (!res.ok()) throw new Error(`${method} ${path} → ${res.status()} ${await res.text()}`);
    return (await res.json()) as T;
  }

  const status = async (id: string) => (await api<Task>('GET', `/api/v1/tasks/${id}`)).status;

  /** "#2 in queue — <reason>" as the API has the task's place now, once it is at `position`. */
  async function shownPlace(id: string, position: number): Promise<string> {
    let place = null as Task['queue'];
    await expect
      .poll(async () => {
        place = (await api<Task>('GET', `/api/v1/tasks/${id}`)).queue;
        return place?.position;
      }, SLOW)
      .toBe(position);
    return `#${position} in queue — ${place?.reason}`;
  }

  beforeAll(async () => {
    stack = await startUiStack();
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
    const login = await fetch(`${stack.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    });
    const token = await fetch(`${stack.url}/api/v1/tokens`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: login.headers.get('set-cookie')?.split(';')[0] ?? '',
        'x-csrf-token': ((await login.json()) as { csrfToken: string }).csrfToken,
      },
      body: JSON.stringify({ name: 'checks' }),
    });
    adminToken = ((await token.json()) as { token: string }).token;
    memberId = (
      await api<{ id: string }>('POST', '/api/v1/users', {
        email: MEMBER_EMAIL,
        name: MEMBER_NAME,
        password: MEMBER_PASSWORD,
        role: 'member',
      })
    ).id;
    teamId = (await api<{ id: string }>('POST', '/api/v1/teams', { name: TEAM })).id;
    await api('PUT', `/api/v1/teams/${teamId}/members/${memberId}`, { role: 'member' });
    await api('PUT', `/api/v1/quotas/users/${memberId}`, { maxConcurrentTasks: 1 });

    memberContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    member = await memberContext.newPage();
    member.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(member, stack.url, MEMBER_EMAIL, MEMBER_PASSWORD);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows the member each waiting task’s place and reason on the tasks list', async () => {
    holder = await asMember<Task>('POST', '/api/v1/tasks', {
      repository: stack.repo('app'),
      prompt: '[scenario:ui] hold the only slot',
    });
    await expect.poll(() => status(holder.id), LONG).toBe('waiting_for_approval');
    first = await asMember<Task>('POST', '/api/v1/tasks', {
      repository: stack.repo('other'),
      prompt: 'first in the queue',
    });
    second = await asMember<Task>('POST', '/api/v1/tasks', {
      repository: stack.repo('other'),
      prompt: 'second in the queue',
      priority: 'low',
    });

    await member.goto(stack.url);
    const firstRow = member.getByRole('row').filter({ hasText: 'first in the queue' });
    const secondRow = member.getByRole('row').filter({ hasText: 'second in the queue' });
    // The workspace starts first; then the quota is what holds it.
    await expect.poll(() => firstRow.getByTestId('queue-place').textContent(), LONG).toMatch(HELD);
    expect(await firstRow.getByTestId('queue-place').textContent()).toMatch(
      new RegExp(`^#1 in queue — ${MEMBER_NAME} has 1 of 1 concurrent tasks`),
    );
    expect(await firstRow.getByText(/priority/).count()).toBe(0);
    // The one behind it says whatever the scheduler says holds it (its workspace's turn, or the
    // same quota, depending on whether a task waiting for its quota holds the workspace).
    await expect
      .poll(() => secondRow.getByTestId('queue-place').textContent(), SLOW)
      .toBe(await shownPlace(second.id, 2));
    expect(await secondRow.getByText('Low priority').count()).toBe(1);
    await shootPage(ARTIFACTS, member, 'queue-tasks');
  }, 240_000);

  it('shows the same on the task page while it waits', async () => {
    await member.getByRole('link', { name: 'first in the queue' }).click();
    const place = member.getByTestId('queue-place');
    await expect.poll(() => place.textContent(), SLOW).toMatch(/^#1 in queue — .*concurrent tasks/);
    await member.getByRole('button', { name: 'Cancel', exact: true }).waitFor();
    await shootPage(ARTIFACTS, member, 'queue-task');
    // The one behind it, with its priority.
    await member.goto(`${stack.url}/tasks/${second.id}`);
    await expect.poll(() => place.textContent(), SLOW).toBe(await shownPlace(second.id, 2));
    await member.getByText('Low priority').waitFor();
    await member.goto(stack.url);
  }, 120_000);

  it('gives a cancelled queued task’s place to the next at once', async () => {
    await member.getByRole('table', { name: 'Tasks' }).waitFor();
    const firstRow = member.getByRole('row').filter({ hasText: 'first in the queue' });
    const secondRow = member.getByRole('row').filter({ hasText: 'second in the queue' });
    await firstRow.getByRole('button', { name: 'Cancel task' }).click();
    // The cancel refreshes the list itself (the poll would take up to 3 s more); the margin is
    // for a busy machine.
    await firstRow.waitFor({ state: 'detached', timeout: 5_000 });
    // The next takes its place and is now the one the quota holds.
    await expect
      .poll(() => secondRow.getByTestId('queue-place').textContent(), SLOW)
      .toMatch(new RegExp(`^#1 in queue — ${MEMBER_NAME} ${HELD.source}`));
    expect(await status(first.id)).toBe('cancelled');
  }, 120_000);

  it('shows the member their quota and no high priority in the new-task form', async () => {
    await nav(member, 'Resources');
    const line = member.getByTestId('quota-line');
    await expect
      .poll(() => line.textContent(), SLOW)
      .toMatch(
        /^1 of 1 concurrent tasks · \d+ of 5 running workspaces · [\d.]+ of [\d.]+ workspace-hours this month \([\d.]+ left, resets .+\)$/,
      );
    const queue = member.getByRole('table', { name: 'Queued tasks' });
    await queue.getByText('second in the queue').waitFor(SLOW);
    expect(await queue.getByRole('columnheader', { name: 'User' }).count()).toBe(0);
    await shootPage(ARTIFACTS, member, 'queue-member-monitor');

    await nav(member, 'Tasks');
    expect(await priorityOptions(member)).toEqual(['Low: after normal tasks', 'Normal']);
    await shootPage(ARTIFACTS, member, 'queue-new-task');
    await member.keyboard.press('Escape');
  }, 120_000);

  let admin: Page;

  it('shows an admin the whole queue on the Resources page', async () => {
    admin = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    admin.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(admin, stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    await nav(admin, 'Resources');
    const queue = admin.getByRole('table', { name: 'Queued tasks' });
    const row = queue.getByRole('row').filter({ hasText: 'second in the queue' });
    await row.waitFor(SLOW);
    await expect.poll(() => row.textContent(), SLOW).toMatch(HELD);
    const text = await row.textContent();
    expect(text).toContain('#1');
    expect(text).toContain(MEMBER_NAME);
    expect(text).toContain('other');
    expect(await row.getByRole('link', { name: 'second in the queue' }).getAttribute('href')).toBe(
      `/tasks/${second.id}`,
    );
    await shootPage(ARTIFACTS, admin, 'queue-admin-monitor');
    // The form offers high exactly when the server allows it. (The bootstrap admin is an owner,
    // whom server/scheduler/quotas.ts does not count as an admin for this today.)
    const quota = await api<{ allowHighPriority: boolean }>('GET', '/api/v1/quota');
    await nav(admin, 'Tasks');
    expect((await priorityOptions(admin)).includes('High: before normal tasks')).toBe(
      quota.allowHighPriority,
    );
  }, 120_000);

  it('sets a team’s override in Admin › Quotas, shows a bad value’s rule, and the API has it', async () => {
    await admin.goto(`${stack.url}/admin?tab=quotas`);
    const table = admin.getByRole('table', { name: 'Quota overrides' });
    const own = table.getByRole('row').filter({ hasText: MEMBER_EMAIL });
    await own.waitFor(SLOW);
    // For, concurrent tasks, running workspaces: the one field set, and the default.
    expect(await own.getByRole('cell').nth(1).textContent()).toBe('1');
    expect(await own.getByRole('cell').nth(2).textContent()).toBe('default');

    await admin.getByRole('button', { name: 'Set override' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Set a quota override' });
    await dialog.getByText('A team').click();
    await dialog.getByRole('combobox', { name: /^Team/ }).click();
    await admin.getByRole('option', { name: TEAM }).click();
    const concurrent = dialog.getByRole('textbox', { name: 'Concurrent tasks' });
    await concurrent.fill('0');
    await dialog.getByRole('textbox', { name: 'Fair-share weight' }).fill('2.5');
    await pick(admin, dialog.getByRole('combobox', { name: 'High priority' }), 'Allowed');
    await dialog.getByRole('button', { name: 'Save override' }).click();
    // The server's rule, under the input it is about.
    await expect.poll(() => concurrent.getAttribute('aria-invalid'), SLOW).toBe('true');
    const rule = await dialog.locator(`[id="${await concurrent.getAttribute('id')}-error"]`).textContent();
    expect(rule).toMatch(/1/);
    await shootPage(ARTIFACTS, admin, 'quota-override-error');

    await concurrent.fill('4');
    await dialog.getByRole('button', { name: 'Save override' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const teamRow = table.getByRole('row').filter({ hasText: TEAM });
    await teamRow.waitFor(SLOW);
    const overrides = await api<{ items: QuotaOverride[] }>('GET', '/api/v1/quotas');
    expect(overrides.items.find((o) => o.subjectKind === 'team')).toMatchObject({
      subjectId: teamId,
      maxConcurrentTasks: 4,
      maxRunningWorkspaces: null,
      maxMonthlyHours: null,
      fairShareWeight: 2.5,
      allowHighPriority: true,
    });
    await shootPage(ARTIFACTS, admin, 'admin-quotas');

    // The member's own override still says 1 concurrent task, but the team now allows high.
    await member.reload();
    expect(await priorityOptions(member)).toContain('High: before normal tasks');
    await member.keyboard.press('Escape');

    // Removed, the defaults apply again: the API lists only the member's own override.
    await table.getByRole('button', { name: `Remove the override of ${TEAM}` }).click();
    await teamRow.waitFor({ state: 'detached', timeout: 10_000 });
    const left = await api<{ items: QuotaOverride[] }>('GET', '/api/v1/quotas');
    expect(left.items.map((o) => [o.subjectKind, o.subjectId])).toEqual([['user', memberId]]);

    // Editing starts from the override as it is; a second slot lets the waiting task start.
    await table.getByRole('button', { name: `Edit the override of ${MEMBER_EMAIL}` }).click();
    const edit = admin.getByRole('dialog', { name: `Quota override of ${MEMBER_EMAIL}` });
    const slots = edit.getByRole('textbox', { name: 'Concurrent tasks' });
    expect(await slots.inputValue()).toBe('1');
    expect(await edit.getByRole('textbox', { name: 'Running workspaces' }).inputValue()).toBe('');
    await slots.fill('2');
    await edit.getByRole('button', { name: 'Save override' }).click();
    await edit.waitFor({ state: 'hidden' });
    const saved = await api<{ items: QuotaOverride[] }>('GET', '/api/v1/quotas');
    expect(saved.items.find((o) => o.subjectId === memberId)).toMatchObject({
      maxConcurrentTasks: 2,
      maxRunningWorkspaces: null,
    });
    await expect.poll(() => status(second.id), LONG).not.toBe('queued');
    expect(pageErrors).toEqual([]);
  }, 120_000);

  /** Follows a link of the main navigation (the desktop layout shows it). */
  async function nav(page: Page, label: string) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click();
  }
});

/** Opens the new-task form and its priority select; the options offered. */
async function priorityOptions(page: Page): Promise<string[]> {
  await page.getByRole('button', { name: 'New task' }).click();
  const dialog = page.getByRole('dialog', { name: 'New task' });
  // Disabled until the quota says whether high is allowed; the click waits for it.
  await dialog.getByRole('combobox', { name: 'Priority' }).click();
  const listbox = page.getByRole('listbox');
  await listbox.waitFor();
  const options = await listbox.getByRole('option').allTextContents();
  await page.keyboard.press('Escape');
  return options;
}

/** Opens a Mantine select and picks an option by its label. */
async function pick(page: Page, combobox: ReturnType<Page['getByRole']>, option: string) {
  await combobox.click();
  await page.getByRole('option', { name: option, exact: true }).click();
}
