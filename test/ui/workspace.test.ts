// The workspace pages in real Chromium against the real UI stack (control plane, a bubblewrap
// workspace with its agent, a git server): create a workspace through the form, use a terminal
// and reattach to it after a reload, edit a file in Monaco and save it, upload a file, and check
// that Monaco and xterm stay out of the dashboard's JavaScript. A member must not see the admin's
// workspace, and the admin sees the member's read-only. Screenshots land in test-artifacts/.
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { ARTIFACTS, editorText, launchChromium, signIn, terminalScreen } from './browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startUiStack, type UiStack } from './uiStack.js';

const MEMBER_EMAIL = 'member@ui.test';
const MEMBER_PASSWORD = 'member ui passphrase';
/** Chunks that must load only on the workspace page, and only when used. */
const HEAVY = /MonacoEditor|TerminalView|editor\.worker|xterm/i;

describe('workspace pages in Chromium', () => {
  let stack: UiStack;
  let browser: Browser;
  let workspaceId: string;

  beforeAll(async () => {
    // A snapshot of the UI the global setup built: a rebuild of dist/web by a parallel run empties
    // it, which would turn the chunks of a page already loaded into 404s.
    const webDir = mkdtempSync(join(tmpdir(), 'rc-ui-web-'));
    cpSync(join(process.cwd(), 'dist', 'web'), webDir, { recursive: true });
    stack = await startUiStack({ webDir });
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A page that records every request and every console error (CSP refusals show there). */
  async function openPage(context: BrowserContext) {
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // The one expected error: GET /api/v1/me answers 401 before signing in.
      if (m.type() === 'error' && !m.text().includes('401')) errors.push(m.text());
    });
    return { page, requests, errors };
  }

  it('creates a workspace, runs a terminal, edits and uploads files', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const { page, requests, errors } = await openPage(context);
    await signIn(page, stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    await page.waitForLoadState('networkidle');
    expect(requests.filter((u) => HEAVY.test(u))).toEqual([]);

    // The new-workspace form opens the workspace's page, which follows it to "running".
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workspaces' }).click();
    await page.getByRole('button', { name: 'New workspace' }).click();
    await page.getByLabel('Repository URL').fill(stack.repo('app'));
    await page.getByRole('button', { name: 'Create and start' }).click();
    await page.waitForURL(/\/workspaces\/[0-9a-f-]{36}$/);
    workspaceId = new URL(page.url()).pathname.split('/').pop() as string;
    await page.getByRole('tab', { name: 'Terminals' }).waitFor({ timeout: 90_000 });
    await page.getByText('Running', { exact: true }).waitFor();
    expect(requests.filter((u) => HEAVY.test(u))).toEqual([]);

    // A new terminal gets the keyboard without a click; "hi" comes back from the shell.
    await page.getByRole('tab', { name: 'Terminals' }).click();
    await page.getByRole('button', { name: 'New terminal' }).click();
    await expect.poll(() => terminalScreen(page), { timeout: 30_000 }).toMatch(/\$/);
    expect(await page.evaluate<string>('document.activeElement?.className')).toContain(
      'xterm-helper-textarea',
    );
    await page.keyboard.type('echo hi\n');
    await expect.poll(() => terminalScreen(page)).toMatch(/^hi\s*$/m);
    await page.screenshot({ path: join(ARTIFACTS, 'workspace-terminal.png') });
    // Written by the shell while the tree is listed: it hears of the file through the watch.
    await page.keyboard.type('echo from the shell > shell-made.txt\n');
    await page.getByRole('tab', { name: 'Files' }).click();
    const tree = page.getByRole('tree', { name: 'Files' });
    await tree.getByRole('treeitem', { name: /shell-made\.txt/ }).waitFor();
    await page.getByRole('tab', { name: 'Terminals' }).click();

    // After a reload the page lists the open terminal and reattaches; the server replays it.
    await page.reload();
    await expect.poll(() => terminalScreen(page), { timeout: 30_000 }).toMatch(/^hi\s*$/m);
    expect(await terminalScreen(page)).toContain('echo hi');
    const terminals = await page.request.get(`${stack.url}/api/v1/workspaces/${workspaceId}/terminals`);
    expect(((await terminals.json()) as { items: unknown[] }).items).toHaveLength(1);

    // README.md in Monaco: edit, Ctrl+S, and the API reads the new text.
    await page.getByRole('tab', { name: 'Files' }).click();
    await tree.getByRole('treeitem', { name: /README\.md/ }).click();
    await page.locator('.monaco-editor .view-lines').click();
    await expect.poll(() => editorText(page)).toContain('A test repository.');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('# app\n\nEdited in the browser.\n');
    await page.getByText('Unsaved', { exact: true }).waitFor();
    await page.keyboard.press('Control+S');
    await page.getByText('Saved', { exact: true }).waitFor();
    const readme = await page.request.get(`${stack.url}/api/v1/workspaces/${workspaceId}/files/README.md`);
    expect(await readme.text()).toBe('# app\n\nEdited in the browser.\n');

    // An upload goes into the directory of the selected file (the root) and shows in the tree.
    await page.locator('input[type=file]').setInputFiles({
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('uploaded from the browser\n'),
    });
    await tree.getByRole('treeitem', { name: /notes\.txt/ }).waitFor();
    const notes = await page.request.get(`${stack.url}/api/v1/workspaces/${workspaceId}/files/notes.txt`);
    expect(await notes.text()).toBe('uploaded from the browser\n');
    await page.screenshot({ path: join(ARTIFACTS, 'workspace-files.png') });

    // Monaco and xterm came only now, and nothing was refused by the CSP.
    expect(requests.some((u) => /MonacoEditor/.test(u))).toBe(true);
    expect(requests.some((u) => /TerminalView/.test(u))).toBe(true);
    expect(errors).toEqual([]);

    // A phone: everything stacked, nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await tree.getByRole('treeitem', { name: /README\.md/ }).click();
    await page.locator('.monaco-editor').waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, 'workspace-files-phone.png'), fullPage: true });
    await page.goto(`${stack.url}/workspaces`);
    await page.getByRole('article', { name: 'Workspace app' }).waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, 'workspace-list-phone.png'), fullPage: true });
    await context.close();
  }, 180_000);

  it("keeps a member out of the admin's workspace and shows the admin a member's read-only", async () => {
    // The member, created and given a workspace through the API as the admin would.
    const admin = await browser.newContext();
    const login = await admin.request.post(`${stack.url}/api/v1/auth/login`, {
      data: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    });
    const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
    const created = await admin.request.post(`${stack.url}/api/v1/users`, {
      headers: { 'x-csrf-token': csrf },
      data: { email: MEMBER_EMAIL, password: MEMBER_PASSWORD, role: 'member' },
    });
    expect(created.status()).toBe(201);

    const member = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const { page } = await openPage(member);
    await signIn(page, stack.url, MEMBER_EMAIL, MEMBER_PASSWORD);
    const res = await page.request.get(`${stack.url}/api/v1/workspaces/${workspaceId}`);
    expect(res.status()).toBe(404);
    expect((await page.request.get(`${stack.url}/api/v1/workspaces/${workspaceId}/files/`)).status()).toBe(
      404,
    );
    await page.goto(`${stack.url}/workspaces/${workspaceId}`);
    await page.getByText('Workspace not found').waitFor();
    expect(await page.getByRole('tab', { name: 'Files' }).count()).toBe(0);

    // The member's own workspace, seen by the admin: files to read, no writing, no terminals.
    const meCsrf = (
      (await (await page.request.get(`${stack.url}/api/v1/me`)).json()) as { csrfToken: string }
    ).csrfToken;
    const mine = await page.request.post(`${stack.url}/api/v1/workspaces`, {
      headers: { 'x-csrf-token': meCsrf },
      data: { repository: stack.repo('other') },
    });
    const theirs = (await mine.json()) as Workspace;
    const { page: adminPage } = await openPage(admin);
    await adminPage.goto(`${stack.url}/workspaces/${theirs.id}`);
    await adminPage.getByRole('tab', { name: 'Files' }).waitFor({ timeout: 90_000 });
    await adminPage.getByText('Read-only: only the workspace').waitFor();
    await adminPage.getByRole('treeitem', { name: /README\.md/ }).click();
    await adminPage.getByText('Read-only', { exact: true }).waitFor();
    expect(await adminPage.getByRole('button', { name: 'New file' }).count()).toBe(0);
    expect(await adminPage.getByRole('button', { name: 'Upload' }).count()).toBe(0);
    await adminPage.getByRole('tab', { name: 'Terminals' }).click();
    await adminPage.getByText('Terminals are for the owner').waitFor();
    await adminPage.screenshot({ path: join(ARTIFACTS, 'workspace-admin-readonly.png') });
    await member.close();
    await admin.close();
  }, 180_000);
});
