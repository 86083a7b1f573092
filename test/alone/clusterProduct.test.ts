// The whole product through three real replicas behind real HAProxy (round-robin, no stickiness)
// with the replica holding a workspace's agent killed (-9) while it is in use: the web UI in real
// Chromium (sign-in, a terminal, files, a live task page) and the real `rclaude` CLI (a followed
// task, a shell with piped input). Nothing is reloaded or re-run by the test after a kill: the
// page's sockets and the CLI's streams must come back by themselves, each event shown once.
// HAProxy's request log says which replica each WebSocket and event stream landed on, so the test
// makes sure some of them were on the replica it kills. Screenshots: /tmp/clusterui-*.png.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TaskRenderer } from '../../cli/taskOutput.js';
import type { Task, TaskEvent } from '../../sdk/taskWire.js';
import type { Workspace } from '../../sdk/workspaceWire.js';
import { type Cluster, type ClusterUser, startCluster } from '../support/cluster.js';
import { call, untilTask } from '../support/clusterViewer.js';
import { routedTo } from '../support/loadBalancer.js';
import type { Scenario } from '../support/modelStub.js';
import { BIN, childEnv } from '../support/rclaude.js';
import { TEST_PASSWORD } from '../support/testApp.js';
import { editorText, launchChromium, signIn, terminalScreen } from '../ui/browser.js';
import { shownSeqs } from '../ui/eventListSeqs.js';

/** Read-only tool calls (no approval needed), one per turn, then an answer. */
const steps = (n: number, delayMs: number, tag: string): Scenario => ({
  turns: [
    ...Array.from({ length: n }, (_, i) => ({
      content: [{ type: 'tool_use' as const, name: 'Glob', input: { pattern: `*${tag}${i}*` } }],
      delayMs,
    })),
    { content: [{ type: 'text' as const, text: `All ${tag} steps done.` }], delayMs },
  ],
});
const done = (t: Task) => ['succeeded', 'failed', 'cancelled', 'waiting_for_input'].includes(t.status);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SLOW = { timeout: 30_000 };

describe('the product through three replicas behind HAProxy, the agent holder killed', () => {
  let c: Cluster;
  let me: ClusterUser;
  let browser: Browser;
  let webDir: string;
  let home: string;
  let workspaceId: string;
  const children: ChildProcessWithoutNullStreams[] = [];

  beforeAll(async () => {
    // A snapshot of the built UI: a parallel rebuild of dist/web would 404 the chunks of an open page.
    webDir = mkdtempSync(join(tmpdir(), 'rc-clusterui-web-'));
    cpSync(join(process.cwd(), 'dist', 'web'), webDir, { recursive: true });
    home = mkdtempSync(join(tmpdir(), 'rc-clusterui-home-'));
    [c, browser] = await Promise.all([
      startCluster({
        scenarios: { ui: steps(30, 400, 'ui'), cli: steps(24, 400, 'cli') },
        flags: { 'server.webDir': webDir },
      }),
      launchChromium(),
    ]);
    me = await c.member();
    const ws = await call<Workspace>(c.lb.url, me.auth, 'POST', '/api/v1/workspaces', {
      repository: c.git.url('app'),
    });
    workspaceId = ws.id;
    // expect.poll is for tests only, not hooks.
    const deadline = Date.now() + 40_000;
    while (
      (await call<Workspace>(c.lb.url, me.auth, 'GET', `/api/v1/workspaces/${ws.id}`)).status !== 'running'
    ) {
      if (Date.now() > deadline) throw new Error(`workspace ${ws.id} is not running`);
      await sleep(200);
    }
    await c.waitForHolder(ws.id, { timeoutMs: 20_000 });
  }, 120_000);
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await browser?.close();
    if (process.env.RC_TEST_CLUSTER_LOGS) console.error(c?.describe(100_000));
    await c?.close();
    for (const dir of [webDir, home]) if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(c?.describe());
  });

  const lb = () => c.lb.url;
  const storedEvents = async (taskId: string) =>
    (await call<{ items: TaskEvent[] }>(lb(), me.auth, 'GET', `/api/v1/tasks/${taskId}/events?limit=1000`))
      .items;
  const storedSeqs = async (taskId: string) => (await storedEvents(taskId)).map((e) => e.seq);
  /** The replica name (A, B, C) of each live socket or stream HAProxy routed under `path`. */
  const streams = (path: string, status: number) =>
    routedTo(c.lb.output(), path)
      .filter((r) => r.status === status)
      .map((r) => r.backend.replace(/^replica/, ''));
  /**
   * Runs `open` (which opens one socket or stream under `path`) until the one it opened landed
   * on a replica `wanted` accepts; returns that replica's index. Bounded: round-robin gets there.
   */
  const placed = async (
    path: string,
    status: number,
    wanted: (i: number) => boolean,
    open: () => Promise<void>,
  ) => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const before = streams(path, status).length;
      await open();
      await expect.poll(() => streams(path, status).length, SLOW).toBeGreaterThan(before);
      const name = streams(path, status).at(-1);
      const i = c.replicas.findIndex((r) => r.name === name);
      if (wanted(i)) return i;
      // A client that makes as many requests per attempt as there are replicas (or a multiple)
      // would land on the same one every time: a random number more moves the round-robin on.
      for (let k = Math.floor(Math.random() * 3); k > 0; k--) await fetch(`${lb()}/readyz`);
    }
    throw new Error(`no socket under ${path} landed where wanted: ${streams(path, status).join(',')}`);
  };
  const newTask = (scenario: string) =>
    call<Task>(lb(), me.auth, 'POST', '/api/v1/tasks', {
      repository: c.git.url('app'),
      prompt: `[scenario:${scenario}] go`,
      permissionMode: 'default',
    });
  /** Types `echo <tag>-$((40+2))` until the terminal shows `<tag>-42` (keys typed while it reattaches are lost). */
  const echoes = async (page: Page, tag: string) => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const marker = `${tag}${attempt}`;
      await page.keyboard.type(`echo ${marker}-$((40+2))\n`);
      const seen = await expect
        .poll(() => terminalScreen(page), { timeout: 2_000 })
        .toContain(`${marker}-42`)
        .then(
          () => true,
          () => false,
        );
      if (seen) return attempt;
    }
    throw new Error(`the terminal never echoed ${tag}:\n${await terminalScreen(page)}`);
  };

  it('web UI: sign-in, terminal, files and a live task page; kill -9 of the holder: the page resumes, each event once, the terminal reattaches', async () => {
    const holder = await c.waitForHolder(workspaceId);
    const body = `written through the load balancer at ${Date.now()}\n`;
    const put = await fetch(`${lb()}/api/v1/workspaces/${workspaceId}/files/from-api.txt`, {
      method: 'PUT',
      headers: { authorization: me.auth },
      body,
    });
    expect(put.status, await put.clone().text()).toBe(200);

    const context: BrowserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const wsPage = await context.newPage();
    wsPage.on('pageerror', (e) => errors.push(e.message));
    await signIn(wsPage, lb(), me.email, TEST_PASSWORD);

    // The workspace page: a terminal, on the replica that holds the agent (the one to be killed).
    await wsPage.goto(`${lb()}/workspaces/${workspaceId}`);
    await wsPage.getByRole('tab', { name: 'Terminals' }).click(SLOW);
    const terminals = `/api/v1/workspaces/${workspaceId}/terminals`;
    let first = true;
    const terminalOn = await placed(
      terminals,
      101,
      (i) => i === holder,
      async () => {
        if (first) await wsPage.getByRole('button', { name: 'New terminal' }).click();
        // Reloaded, the page lists the open terminal and attaches to it again.
        else await wsPage.reload();
        first = false;
        await expect.poll(() => terminalScreen(wsPage), SLOW).toMatch(/[$#] *$/m);
      },
    );
    expect(terminalOn).toBe(holder);
    await echoes(wsPage, 'before');
    // The file written through the API shows in the tree and opens in the editor.
    await wsPage.getByRole('tab', { name: 'Files' }).click();
    const tree = wsPage.getByRole('tree', { name: 'Files' });
    await tree.getByRole('treeitem', { name: /from-api\.txt/ }).click(SLOW);
    await expect.poll(() => editorText(wsPage), SLOW).toContain('written through the load balancer');
    await wsPage.getByRole('tab', { name: 'Terminals' }).click();

    // The task, on two task pages: one whose event socket is on the holder, one elsewhere.
    const task = await newTask('ui');
    expect(task.workspaceId).toBe(workspaceId);
    const events = `/api/v1/tasks/${task.id}/events`;
    const openTaskPage = async (onHolder: boolean) => {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      let opened = false;
      const on = await placed(
        events,
        101,
        (i) => (i === holder) === onHolder,
        async () => {
          if (opened) await page.reload();
          else await page.goto(`${lb()}/tasks/${task.id}`);
          opened = true;
          await page.getByRole('status', { name: 'Connection: Live' }).waitFor(SLOW);
        },
      );
      return { page, on };
    };
    const pageOnHolder = await openTaskPage(true);
    const pageElsewhere = await openTaskPage(false);
    const list = (p: Page) => p.getByTestId('event-list');
    await expect
      .poll(async () => Number(await list(pageElsewhere.page).getAttribute('data-events-loaded')), SLOW)
      .toBeGreaterThanOrEqual(5);
    // Still running: the kill comes mid-task.
    expect((await call<Task>(lb(), me.auth, 'GET', `/api/v1/tasks/${task.id}`)).status).toBe('running');

    const eventSocketsBefore = streams(events, 101).length;
    const terminalSocketsBefore = streams(terminals, 101).length;
    const storedBefore = (await storedSeqs(task.id)).length;
    await c.kill(holder);
    const next = await c.waitForHolder(workspaceId, { not: holder, timeoutMs: 15_000 });

    // No reload: the pages carry on by themselves.
    const final = await untilTask(lb(), me.auth, task.id, done, 60_000);
    expect(final.status, final.statusReason ?? '').toBe('succeeded');
    const stored = await storedSeqs(task.id);
    expect(stored).toEqual(stored.map((_, i) => i + 1));
    expect(stored.length).toBeGreaterThan(storedBefore);
    for (const { page } of [pageOnHolder, pageElsewhere]) {
      await expect
        .poll(() => list(page).getAttribute('data-events-loaded'), SLOW)
        .toBe(String(stored.length));
      expect((await shownSeqs(page)).sort((a, b) => a - b)).toEqual(stored);
      await page.getByRole('status', { name: 'Connection: Live' }).waitFor(SLOW);
    }
    await pageOnHolder.page.getByText('All ui steps done.').first().waitFor(SLOW);
    // The page on the killed replica opened a new socket, on a live one; the other kept its own.
    const reopened = streams(events, 101).slice(eventSocketsBefore);
    expect(reopened.length).toBeGreaterThanOrEqual(1);
    expect(reopened).not.toContain(c.replicas[holder]?.name);

    // The terminal lost its replica with the agent's holder; it attaches again by itself.
    await wsPage.bringToFront();
    await expect.poll(() => streams(terminals, 101).length, SLOW).toBeGreaterThan(terminalSocketsBefore);
    await echoes(wsPage, 'after');
    expect(await wsPage.getByText('Disconnected.').count()).toBe(0);
    expect(streams(terminals, 101).slice(terminalSocketsBefore)).not.toContain(c.replicas[holder]?.name);

    // The file tree's watch socket came back too: a file written now shows up without a reload.
    await wsPage.getByRole('tab', { name: 'Files' }).click();
    const late = await fetch(`${lb()}/api/v1/workspaces/${workspaceId}/files/after-kill.txt`, {
      method: 'PUT',
      headers: { authorization: me.auth },
      body: 'written after the kill\n',
    });
    expect(late.status).toBe(200);
    const watches = streams(`/api/v1/workspaces/${workspaceId}/watch`, 101).join(',');
    await tree
      .getByRole('treeitem', { name: /after-kill\.txt/ })
      .waitFor(SLOW)
      .catch((err: unknown) => {
        throw new Error(`the tree did not hear of after-kill.txt (watch sockets on ${watches}): ${err}`);
      });
    await wsPage.getByRole('tab', { name: 'Terminals' }).click();

    await pageOnHolder.page.screenshot({ path: '/tmp/clusterui-task.png' });
    await wsPage.screenshot({ path: '/tmp/clusterui-workspace.png' });
    expect(errors).toEqual([]);
    expect(await c.holderOf(workspaceId)).toBe(next);
    await context.close();
    await c.restart(holder);
  }, 150_000);

  /** `rclaude args…` against the load balancer, its output collected as it comes. */
  const cli = (args: string[]) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: home,
      env: childEnv(home, { RC_URL: lb(), RC_TOKEN: me.auth.slice('Bearer '.length) }),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 90_000,
      killSignal: 'SIGKILL',
    });
    children.push(child);
    const out = { stdout: '', stderr: '' };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out.stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out.stderr += d;
    });
    const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on('close', (code) => resolve({ code, ...out })),
    );
    return { child, out, exited };
  };

  it('CLI: `task run --follow` and `task logs --follow --json` through the LB finish right when the holder is killed mid-task', async () => {
    const holder = await c.waitForHolder(workspaceId);
    const run = cli(['task', 'run', '[scenario:cli] go', '--repo', c.git.url('app'), '--follow']);
    await expect.poll(() => run.out.stdout, SLOW).toMatch(/^Task \S+ started/);
    const [row] = await c.query<{ id: string }>(`select id from tasks where prompt like '%scenario:cli%'`);
    const taskId = row?.id as string;
    const events = `/api/v1/tasks/${taskId}/events`;
    // JSON followers until one's stream is on the holder.
    const followers: ReturnType<typeof cli>[] = [];
    const followerOn = await placed(
      events,
      200,
      (i) => i === holder,
      async () => {
        followers.push(cli(['task', 'logs', taskId, '--follow', '--json']));
      },
    );
    expect(followerOn).toBe(holder);
    await expect.poll(async () => (await storedSeqs(taskId)).length, SLOW).toBeGreaterThanOrEqual(5);
    expect((await call<Task>(lb(), me.auth, 'GET', `/api/v1/tasks/${taskId}`)).status).toBe('running');
    await c.kill(holder);
    await c.waitForHolder(workspaceId, { not: holder, timeoutMs: 15_000 });

    const ran = await run.exited;
    expect(ran.code, ran.stderr).toBe(0);
    const stored = await storedEvents(taskId);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    // Exactly what the stored log renders as: nothing missing, nothing twice.
    const renderer = new TaskRenderer({ color: false, taskRef: taskId.slice(0, 8) });
    const lines = stored.flatMap((e) => renderer.render(e));
    const head = ran.stdout.split('\n')[0] as string;
    expect(ran.stdout).toBe(`${[head, ...lines].join('\n')}\n`);
    expect(ran.stdout).toContain('All cli steps done.');
    for (const f of followers) {
      const r = await f.exited;
      expect(r.code, r.stderr).toBe(0);
      const seqs = r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as TaskEvent).seq);
      expect(seqs).toEqual(stored.map((e) => e.seq));
    }
    await c.restart(holder);
  }, 120_000);

  it('CLI: `ws ssh` with piped input through the LB, and a session that outlives the holder’s kill', async () => {
    const short = workspaceId.slice(0, 8);
    const once = cli(['ws', 'ssh', short]);
    once.child.stdin.end('echo ssh-$((6*7))\nexit 7\n');
    const r = await once.exited;
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toMatch(/^ssh-42\s*$/m);

    const holder = await c.waitForHolder(workspaceId);
    const terminals = `/api/v1/workspaces/${workspaceId}/terminals`;
    // Two sessions: one whose socket is on the holder (its connection breaks: 1006), one on
    // another replica (that replica closes it with 1012 when the agent leaves the holder).
    const session = async (onHolder: boolean) => {
      let s: ReturnType<typeof cli> | undefined;
      await placed(
        terminals,
        101,
        (i) => (i === holder) === onHolder,
        async () => {
          if (s) {
            s.child.stdin.end('exit\n');
            await s.exited;
          }
          s = cli(['ws', 'ssh', short]);
        },
      );
      const it = s as ReturnType<typeof cli>;
      it.child.stdin.write('echo before-$((1+1))\n');
      await expect.poll(() => it.out.stdout, SLOW).toMatch(/^before-2\s*$/m);
      return it;
    };
    const sessions = [await session(true), await session(false)];
    const before = streams(terminals, 101).length;
    await c.kill(holder);
    await c.waitForHolder(workspaceId, { not: holder, timeoutMs: 15_000 });
    // Written while they attach again: the pipe holds it until the terminal is back.
    for (const s of sessions) s.child.stdin.write('echo after-$((2+2)); exit 5\n');
    for (const [k, s] of sessions.entries()) {
      const end = await s.exited;
      expect(end.code, `session ${k}: ${end.stderr}`).toBe(5);
      expect(end.stdout, JSON.stringify(end.stdout)).toMatch(/^after-4\s*$/m);
      // Attaching again replays the terminal's buffer; what was printed already is not repeated.
      const count = (line: string) => end.stdout.split(`${line}\r\n`).length - 1;
      expect([count('before-2'), count('after-4')], JSON.stringify(end.stdout)).toEqual([1, 1]);
    }
    // Each attached again, through a live replica.
    const again = streams(terminals, 101).slice(before);
    expect(again.length).toBeGreaterThanOrEqual(2);
    expect(again).not.toContain(c.replicas[holder]?.name);
    await c.restart(holder);
  }, 90_000);
});
