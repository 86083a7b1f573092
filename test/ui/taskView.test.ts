// The live task view in real Chromium against the real stack (control plane, a workspace running
// the real claude CLI, the scripted model stub): streaming, approval cards, diffs, Markdown,
// follow-ups, Interrupt, and a reconnect that loses and duplicates nothing. Every live socket the
// page opens is routed through the test, which delivers each frame twice and drops the socket
// mid-task, so the page's own dedupe and resume are what keep each seq once. Screenshots land in
// test-artifacts/ to be looked at.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task, TaskEvent } from '../../sdk/taskWire.js';
import { ARTIFACTS, launchChromium, signIn } from './browser.js';
import { shownSeqs } from './eventListSeqs.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startUiStack, UI_SCENARIOS, type UiStack } from './uiStack.js';

const LONG = { timeout: 90_000 };

describe('live task view in Chromium', () => {
  let stack: UiStack;
  let browser: Browser;

  beforeAll(async () => {
    // RC_WEB_DIR: another build of the UI, as for `npm run dev:stack`; dist/web by default.
    stack = await startUiStack({ webDir: process.env.RC_WEB_DIR });
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A signed-in page whose event sockets pass through the test (see `sockets`). */
  async function openPage(width: number): Promise<{ page: Page; sockets: RoutedSockets }> {
    const page = await browser.newPage({ viewport: { width, height: width < 600 ? 844 : 800 } });
    page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
    const sockets = await routeEventSockets(page);
    await signIn(page, stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    return { page, sockets };
  }

  async function call<T>(page: Page, method: 'GET' | 'POST', path: string, data?: unknown): Promise<T> {
    const me = (await (await page.request.get(`${stack.url}/api/v1/me`)).json()) as { csrfToken: string };
    const res = await page.request.fetch(`${stack.url}${path}`, {
      method,
      headers: { 'x-csrf-token': me.csrfToken },
      ...(data === undefined ? {} : { data }),
    });
    if (!res.ok()) throw new Error(`${method} ${path} → ${res.status()} ${await res.text()}`);
    return (await res.json()) as T;
  }

  const taskStatus = async (page: Page, id: string) =>
    (await call<Task>(page, 'GET', `/api/v1/tasks/${id}`)).status;

  it('streams a task, answers its approvals from the cards, takes a follow-up, and shows each seq once', async () => {
    const { page, sockets } = await openPage(1280);
    const task = await call<Task>(page, 'POST', '/api/v1/tasks', {
      repository: stack.repo('app'),
      prompt: '[scenario:ui] write the notes',
    });
    await page.goto(`${stack.url}/tasks/${task.id}`);
    const list = page.getByTestId('event-list');
    await expect.poll(() => list.getAttribute('data-events-loaded')).not.toBeNull();
    await page.getByRole('status', { name: 'Connection: Live' }).waitFor(LONG);

    // The Write asks first: its card shows the new file as added lines.
    const writeCard = page.getByRole('region', { name: 'Approval for Write' });
    await writeCard.waitFor(LONG);
    expect(await writeCard.getByTestId('diff').textContent()).toContain('+ first line');
    await page.screenshot({ path: join(ARTIFACTS, 'task-approval-desktop.png') });
    await writeCard.getByRole('button', { name: 'Allow' }).click();
    await writeCard.waitFor({ state: 'detached' });

    // Then the Edit: meanwhile a phone opens the same task and shows its card too.
    const editCard = page.getByRole('region', { name: 'Approval for Edit' });
    await editCard.waitFor(LONG);
    const writeRow = list.locator('article[data-kind="tool"]', { hasText: 'Write' });
    expect(await writeRow.getByTestId('diff').textContent()).toContain('+ first line');
    const diff = await editCard.getByTestId('diff').textContent();
    expect(diff).toContain('- first line');
    expect(diff).toContain('+ edited line');
    const phone = await openPage(390);
    await phone.page.goto(`${stack.url}/tasks/${task.id}`);
    await phone.page.getByRole('region', { name: 'Approval for Edit' }).waitFor(LONG);
    await phone.page.screenshot({ path: join(ARTIFACTS, 'task-approval-phone.png') });
    expect(await phone.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      390,
    );

    // The live socket drops while the rest of the turn runs; the page resumes after its last seq.
    const dropped = sockets.drop();
    await editCard.getByRole('button', { name: 'Allow' }).click();
    await expect.poll(() => sockets.urls.length, LONG).toBeGreaterThan(dropped);
    await page.getByRole('status', { name: 'Connection: Live' }).waitFor(LONG);
    const resumedAfter = Number(new URL(sockets.urls[dropped] as string).searchParams.get('after'));
    expect(resumedAfter).toBeGreaterThan(0);

    await list.locator('article[data-kind="tool"]', { hasText: 'Bash' }).waitFor(LONG);
    await list.locator('strong', { hasText: 'notes.md' }).waitFor(LONG);
    await expect.poll(() => taskStatus(page, task.id), LONG).toBe('succeeded');
    await page.getByText('Turn finished').first().waitFor();

    // A follow-up from the composer resumes the task; Ctrl+Enter sends it.
    await page.getByLabel('Follow-up message').fill('Are the notes fine?');
    await page.getByLabel('Follow-up message').press('Control+Enter');
    await list.getByText('Follow-up answered').waitFor(LONG);
    await expect.poll(() => taskStatus(page, task.id), LONG).toBe('succeeded');
    await page.screenshot({ path: join(ARTIFACTS, 'task-finished-desktop.png') });

    // Tool calls open from the keyboard; scrolled up, the list offers a way back to the latest.
    const bash = list.locator('article[data-kind="tool"]', { hasText: 'Bash' }).getByRole('button');
    await bash.focus();
    await page.keyboard.press('Enter');
    expect(await bash.getAttribute('aria-expanded')).toBe('true');
    await list.getByText('3 /workspace/notes.md', { exact: true }).waitFor();
    await list.evaluate((el) => {
      el.scrollTop = 0;
    });
    await page.getByRole('button', { name: /Jump to latest/ }).click();
    await expect
      .poll(() => list.evaluate((el) => el.scrollHeight - el.clientHeight - el.scrollTop))
      .toBeLessThan(2);

    const all = await call<{ items: TaskEvent[] }>(page, 'GET', `/api/v1/tasks/${task.id}/events?limit=1000`);
    const expected = all.items.map((e) => e.seq);
    await expect.poll(() => list.getAttribute('data-events-loaded'), LONG).toBe(String(expected.length));
    // Sorted, each seq once: a tool call's row also shows its later result's and question's seqs.
    expect((await shownSeqs(page)).sort((a, b) => a - b)).toEqual(expected);
    await page.reload();
    await expect.poll(() => list.getAttribute('data-events-loaded'), LONG).toBe(String(expected.length));
    expect((await shownSeqs(page)).sort((a, b) => a - b)).toEqual(expected);
    await phone.page.getByText('Follow-up answered').waitFor(LONG);
    await phone.page.screenshot({ path: join(ARTIFACTS, 'task-finished-phone.png') });
    await phone.page.close();
    await page.close();
  }, 240_000);

  it('ends a slow turn with the Interrupt button; a follow-up continues it', async () => {
    // The stack's slow answer streams in well under a second, too quick to click into. This one
    // says a first sentence after about 6 s (Claude Code prints each content block once it is
    // complete), then streams a long second block for as long again; the follow-up finds the
    // partial answer in the conversation and gets the scenario's second turn.
    const after = UI_SCENARIOS.slow?.turns[1] ?? {};
    stack.stub.setScenario('slow', {
      turns: [
        {
          content: [
            { type: 'text', text: 'Here comes a long answer.' },
            { type: 'text', text: 'word '.repeat(300) },
          ],
          chunkDelayMs: 1000,
        },
        after,
      ],
    });
    const { page } = await openPage(1280);
    const task = await call<Task>(page, 'POST', '/api/v1/tasks', {
      repository: stack.repo('other'),
      prompt: '[scenario:slow] talk for a while',
    });
    await page.goto(`${stack.url}/tasks/${task.id}`);
    await page.getByTestId('event-list').getByText('Here comes a long answer.').waitFor(LONG);
    await page.getByRole('button', { name: 'Interrupt' }).click();
    await page.getByText('Turn interrupted').waitFor(LONG);
    await page.getByText('Waiting for you', { exact: true }).waitFor(LONG);
    expect(await taskStatus(page, task.id)).toBe('waiting_for_input');
    await page.screenshot({ path: join(ARTIFACTS, 'task-interrupted-desktop.png') });

    await page.getByLabel('Follow-up message').fill('go on');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByTestId('event-list').getByText('After the interrupt.').waitFor(LONG);
    await page.close();
  }, 180_000);
});

interface RoutedSockets {
  /** URLs of the event sockets the page opened, in order. */
  urls: string[];
  /** Drops the open socket as a network failure would; returns how many had been opened. */
  drop(): number;
}

/** Passes the page's event sockets through, sending every server frame twice. */
async function routeEventSockets(page: Page): Promise<RoutedSockets> {
  const urls: string[] = [];
  let current: WebSocketRoute | null = null;
  await page.routeWebSocket(/\/api\/v1\/tasks\/[^/]+\/events/, (ws) => {
    urls.push(ws.url());
    current = ws;
    const server = ws.connectToServer();
    server.onMessage((frame) => {
      ws.send(frame);
      ws.send(frame);
    });
  });
  return {
    urls,
    drop() {
      void current?.close({ code: 4000, reason: 'dropped by the test' });
      return urls.length;
    },
  };
}
