// `npm run bench:ui`: the web UI's figures, each beside its baseline in the same run.
//
//   1. JavaScript shipped for the dashboard route, gzip, against the 300 KB budget (Monaco and
//      xterm must not be among it);
//   2. a finished task with N events (default 5,000): time until its page has them all and shows
//      rows, in headless Chromium, beside the time `curl` takes to fetch the same events as JSON
//      pages from the same server (target ≤ 1 s); how many rows are in the DOM (virtualised);
//   3. scrolling that task's list: frame times (p50/p95/worst) of a steady fast scroll (target p95
//      ≤ 34 ms, two 60 Hz frames) and of a sweep of the whole list in 4 s (reported).
//
//   npm run bench:ui [-- --events 5000] [--runs 5]
//
// Everything runs on loopback against a real control plane on SQLite; temporary directories are
// removed at the end. Exits 1 when the page failed to show the events.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { loadConfig } from '../../server/config/loadConfig.js';
import { startServer } from '../../server/serve.js';
import { launchChromium, signIn } from '../../test/ui/browser.js';
import { intFlag, pct } from '../benchStats.js';
import { seedTask } from './seedTask.js';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '5000' }, runs: { type: 'string', default: '5' } },
});
const EVENTS = intFlag('events', values.events, 100_000);
const RUNS = intFlag('runs', values.runs, 50);
const BUDGET_GZIP_BYTES = 300 * 1024;
const TARGET_RENDER_MS = 1000;
/** Smooth enough: 95 % of frames within two 60 Hz frames. */
const TARGET_FRAME_P95_MS = 34;
const EMAIL = 'bench@ui.bench';
const PASSWORD = 'bench ui passphrase';

const ms = (x: number) => `${x.toFixed(0)} ms`;
const kb = (x: number) => `${(x / 1024).toFixed(1)} KB`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const median = (xs: number[]) => pct(xs, 50);

async function main(): Promise<number> {
  const dataDir = mkdtempSync('/tmp/rc-bench-ui-');
  const config = loadConfig({
    env: {},
    flags: {
      'server.port': 0,
      dataDir,
      'log.level': 'silent',
      'admin.email': EMAIL,
      'admin.password': PASSWORD,
      'auth.argon2.memoryCost': 1024,
      'auth.argon2.timeCost': 1,
    },
  });
  const server = await startServer(config, { print: () => {} });
  const browser = await launchChromium();
  try {
    const { token, userId } = await apiToken(server.url);
    const ws = await fetchJson<{ id: string }>(server.url, token, 'POST', '/api/v1/workspaces', {
      repository: 'https://example.invalid/bench/app.git',
      start: false,
    });
    const seeded = performance.now();
    const taskId = await seedTask(server.services, userId, ws.id, EVENTS);
    console.log(`seeded a task with ${EVENTS} events in ${ms(performance.now() - seeded)}\n`);

    // The probes below are strings evaluated in the page, which the UI's CSP (no 'unsafe-eval')
    // would refuse; CSP changes nothing about rendering speed.
    const page = await (
      await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
    ).newPage();
    await signIn(page, server.url, EMAIL, PASSWORD);

    // 1. JavaScript for the dashboard route, in a fresh context so nothing is cached.
    const js = await dashboardJs(browser, server.url);
    const heavy = js.files.filter((f) => /monaco|xterm|editor\.|codicon/i.test(f.url));
    console.log('1. JavaScript shipped for the dashboard route (gzip -9 of each file the page loaded)');
    for (const f of js.files) console.log(`   ${kb(f.gzip).padStart(9)}  ${new URL(f.url).pathname}`);
    console.log(
      `   total ${kb(js.total)} of a ${kb(BUDGET_GZIP_BYTES)} budget (ratio ${(js.total / BUDGET_GZIP_BYTES).toFixed(2)}) ` +
        `${verdict(js.total <= BUDGET_GZIP_BYTES && heavy.length === 0)}` +
        (heavy.length
          ? `; Monaco/xterm loaded: ${heavy.map((f) => f.url).join(', ')}`
          : '; no Monaco, no xterm'),
    );

    // 2. The task page with N events vs curl fetching them.
    const curlMs: number[] = [];
    const renderMs: number[] = [];
    let rows = 0;
    for (let i = 0; i < RUNS; i += 1) {
      curlMs.push(await curlEvents(server.url, token, taskId, EVENTS));
      const r = await renderTask(page, server.url, taskId, EVENTS);
      renderMs.push(r.ms);
      rows = r.rows;
    }
    const render = median(renderMs);
    const curl = median(curlMs);
    console.log(`\n2. A task with ${EVENTS} events, median of ${RUNS} runs`);
    console.log(
      `   curl, ${Math.ceil(EVENTS / 1000)} JSON pages of 1000: ${ms(curl)}  (runs: ${curlMs.map(ms).join(', ')})`,
    );
    console.log(`   page shows them all:            ${ms(render)}  (runs: ${renderMs.map(ms).join(', ')})`);
    console.log(
      `   ratio page/curl ${(render / curl).toFixed(1)}; rows in the DOM: ${rows} of ${EVENTS}; ` +
        `target ≤ ${ms(TARGET_RENDER_MS)} ${verdict(render <= TARGET_RENDER_MS)}`,
    );

    // 3. Scrolling it: a steady fast scroll, and a sweep of the whole list in 4 s.
    console.log(`\n3. Scrolling the ${EVENTS} events (headless, software rendering)`);
    printFrames('steady 40 px a frame', await scrollFrames(page, 'steady', 3000), true);
    printFrames('sweep top to bottom', await scrollFrames(page, 'sweep', 4000), false);
    return 0;
  } catch (err) {
    console.error(err);
    return 1;
  } finally {
    await browser.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function apiToken(base: string): Promise<{ token: string; userId: string }> {
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  const me = (await login.json()) as { user: { id: string }; csrfToken: string };
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const res = await fetch(`${base}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': me.csrfToken },
    body: JSON.stringify({ name: 'bench', expiresInDays: 1 }),
  });
  return { token: ((await res.json()) as { token: string }).token, userId: me.user.id };
}

async function fetchJson<T>(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function dashboardJs(browser: Awaited<ReturnType<typeof launchChromium>>, base: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, base, EMAIL, PASSWORD);
  const files: { url: string; gzip: number }[] = [];
  const pending: Promise<void>[] = [];
  page.on('response', (res) => {
    if (!res.url().endsWith('.js')) return;
    pending.push(
      res.body().then((b) => void files.push({ url: res.url(), gzip: gzipSync(b, { level: 9 }).length })),
    );
  });
  // A reload with an empty cache: everything the dashboard needs comes over the wire again.
  await context.clearCookies();
  await signIn(page, base, EMAIL, PASSWORD);
  await page.getByRole('heading', { name: 'Tasks' }).waitFor();
  await page.waitForLoadState('networkidle');
  await Promise.all(pending);
  await context.close();
  const unique = [...new Map(files.map((f) => [f.url, f])).values()];
  return { files: unique, total: unique.reduce((a, f) => a + f.gzip, 0) };
}

async function curlEvents(base: string, token: string, taskId: string, count: number): Promise<number> {
  const urls: string[] = [];
  for (let after = 0; after < count; after += 1000)
    urls.push(`${base}/api/v1/tasks/${taskId}/events?after=${after}&limit=1000`);
  const started = performance.now();
  const { stdout } = await promisify(execFile)(
    'curl',
    ['-sf', '-H', `authorization: Bearer ${token}`, ...urls],
    {
      maxBuffer: 512 * 1024 * 1024,
    },
  );
  const took = performance.now() - started;
  if (stdout.length < count * 50) throw new Error(`curl fetched only ${stdout.length} bytes`);
  return took;
}

// The functions below run in the page. They are strings because this file is compiled for Node,
// without the DOM's types.

async function renderTask(page: Page, base: string, taskId: string, count: number) {
  await page.goto(`${base}/tasks/${taskId}`);
  await page.waitForFunction(
    `(() => {
      const list = document.querySelector('[data-testid="event-list"]');
      return list?.dataset.eventsLoaded === '${count}' && list.querySelector('[data-seq]') !== null;
    })()`,
    undefined,
    { timeout: 60_000, polling: 'raf' },
  );
  const took = (await page.evaluate('performance.now()')) as number;
  const rows = await page.locator('[data-testid="event-list"] [data-seq]').count();
  return { ms: took, rows };
}

/**
 * Scrolls the event list for `durationMs`, either sweeping it top to bottom (every frame lands on
 * rows never seen) or moving a steady `pxPerFrame` like a fast flick of a wheel or a thumb, and
 * returns the time between frames.
 */
const scrollScript = (mode: 'sweep' | 'steady', durationMs: number, pxPerFrame = 40) => `(async () => {
  const list = document.querySelector('[data-testid="event-list"]');
  if (!list) throw new Error('no event list');
  list.scrollTop = 0;
  await new Promise((r) => setTimeout(r, 300));
  await new Promise((r) => requestAnimationFrame(r));
  const deltas = [];
  const start = performance.now();
  let last = start;
  await new Promise((resolve) => {
    const step = (now) => {
      deltas.push(now - last);
      last = now;
      const f = Math.min(1, (now - start) / ${durationMs});
      if ('${mode}' === 'sweep') list.scrollTop = f * (list.scrollHeight - list.clientHeight);
      else list.scrollTop += ${pxPerFrame};
      if (f < 1) requestAnimationFrame(step);
      else resolve();
    };
    requestAnimationFrame(step);
  });
  return { deltas: deltas.slice(1), durationMs: performance.now() - start, px: list.scrollTop };
})()`;

interface Frames {
  deltas: number[];
  durationMs: number;
  px: number;
}

function printFrames(label: string, f: Frames, judged: boolean): void {
  const p95 = pct(f.deltas, 95);
  console.log(
    `   ${label}: ${f.deltas.length} frames in ${ms(f.durationMs)}, ${Math.round(f.px / (f.durationMs / 1000))} px/s; ` +
      `frame time p50 ${ms(pct(f.deltas, 50))}, p95 ${ms(p95)}, worst ${ms(Math.max(...f.deltas))}; ` +
      `over 50 ms: ${f.deltas.filter((d) => d > 50).length}${judged ? ` (target p95 ≤ ${ms(TARGET_FRAME_P95_MS)}) ${verdict(p95 <= TARGET_FRAME_P95_MS)}` : ''}`,
  );
}

async function scrollFrames(page: Page, mode: 'sweep' | 'steady', durationMs: number): Promise<Frames> {
  return (await page.evaluate(scrollScript(mode, durationMs))) as Frames;
}

process.exitCode = await main();
