// The whole path a member takes through the web UI, in real Chromium against the real control
// plane, a real workspace (local driver), the real claude CLI and the scripted model stub:
// sign in → start a task from the form → watch it stream → approve its tool calls → send a
// follow-up → open a terminal in its workspace and run `echo hi` → edit a file in Monaco, save,
// and read it back through the API → and, as admin, find all of it in the audit log.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, editorText, launchChromium, signIn, terminalScreen } from './browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startUiStack, type UiStack } from './uiStack.js';

const MEMBER = { email: 'dev@ui.test', password: 'dev member passphrase' };

describe('a member’s journey through the web UI', () => {
  let stack: UiStack;
  let browser: Browser;
  beforeAll(async () => {
    stack = await startUiStack();
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
    const login = await fetch(`${stack.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    });
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const created = await fetch(`${stack.url}/api/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
      body: JSON.stringify({ ...MEMBER, name: 'Dev Member', role: 'member' }),
    });
    expect(created.status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `journey-${name}.png`) });

  it('starts, watches, approves and follows up a task, uses its workspace, and the admin audits it', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(page, stack.url, MEMBER.email, MEMBER.password);

    // The new-task form on the dashboard opens the task's live view.
    await page.getByRole('button', { name: 'New task' }).click();
    const form = page.getByRole('form', { name: 'New task' });
    await form.getByLabel(/^Repository/).fill(stack.repo('app'));
    await form.getByLabel(/^Prompt/).fill('[scenario:ui] write the notes');
    await shot(page, 'new-task');
    await form.getByRole('button', { name: 'Start task' }).click();
    await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
    const taskId = new URL(page.url()).pathname.split('/').pop() as string;

    // It streams: the first assistant text arrives, then Claude Code asks before it writes.
    const log = page
      .getByRole('log', { name: 'Conversation' })
      .or(page.getByRole('feed', { name: 'Conversation' }));
    await log.getByText("I'll write the notes file first.").waitFor({ timeout: 90_000 });
    // (Its Bash call, a read-only `wc -l`, runs without asking.)
    for (const tool of ['Write', 'Edit']) {
      const card = page.getByRole('region', { name: `Approval for ${tool}` });
      await card.waitFor({ timeout: 60_000 });
      if (tool === 'Write') await shot(page, 'approval');
      await card.getByRole('button', { name: 'Allow' }).click();
      await card.waitFor({ state: 'detached', timeout: 30_000 });
    }
    // The answer is Markdown, rendered.
    await log.locator('strong', { hasText: 'notes.md' }).waitFor({ timeout: 60_000 });

    // A follow-up from the composer is answered in the same conversation.
    await page.getByLabel('Follow-up message').fill('Anything else?');
    await page.getByRole('button', { name: 'Send' }).click();
    await log.getByText('Follow-up answered: the notes are fine.').waitFor({ timeout: 60_000 });
    await shot(page, 'task');

    // The task's workspace: a terminal runs `echo hi`.
    await page.getByRole('main').getByRole('link', { name: 'Workspace', exact: true }).click();
    await page.waitForURL(/\/workspaces\/[0-9a-f-]{36}/);
    const workspaceId = new URL(page.url()).pathname.split('/')[2] as string;
    await page.getByRole('tab', { name: 'Terminals' }).click();
    await page.getByRole('button', { name: 'New terminal' }).click();
    await expect.poll(() => terminalScreen(page), { timeout: 30_000 }).toMatch(/\$/);
    await page.keyboard.type('echo hi\n');
    await expect.poll(() => terminalScreen(page)).toMatch(/^hi\s*$/m);
    await shot(page, 'terminal');

    // The file Claude wrote, edited in Monaco and saved, reads back through the API.
    await page.getByRole('tab', { name: 'Files' }).click();
    await page
      .getByRole('tree', { name: 'Files' })
      .getByRole('treeitem', { name: /notes\.md/ })
      .click();
    await expect.poll(() => editorText(page), { timeout: 30_000 }).toContain('edited line');
    await page.locator('.monaco-editor .view-lines').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('# Notes\n\nsaved from the browser\n');
    await page.keyboard.press('Control+S');
    await page.getByText('Saved', { exact: true }).waitFor();
    const file = await page.request.get(`${stack.url}/api/v1/workspaces/${workspaceId}/files/notes.md`);
    expect(await file.text()).toBe('# Notes\n\nsaved from the browser\n');
    await shot(page, 'file-saved');
    expect(pageErrors).toEqual([]);

    // The admin finds each of those steps in the audit log, filtered to the member.
    const admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(admin, stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    await admin.goto(`${stack.url}/admin?tab=audit`);
    await admin.getByLabel('Actor').fill(MEMBER.email);
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    const table = admin.getByRole('table', { name: 'Audit log' });
    for (const action of [
      'auth.login',
      'task.created',
      'task.approval',
      'task.message',
      'workspace.terminal',
      'workspace.file_written',
    ]) {
      await table.getByText(action, { exact: true }).first().waitFor({ timeout: 15_000 });
    }
    await admin.screenshot({ path: join(ARTIFACTS, 'journey-admin-audit.png'), fullPage: true });
    const audit = await admin.request.get(
      `${stack.url}/api/v1/audit?actor=${encodeURIComponent(MEMBER.email)}&action=task.&limit=500`,
    );
    const targets = ((await audit.json()) as { items: { targetId: string | null }[] }).items.map(
      (e) => e.targetId,
    );
    expect(targets).toContain(taskId);
  }, 300_000);
});
