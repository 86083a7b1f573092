// `npm run bench:noisy`: what one workspace's fork bomb and CPU hog cost everyone else, on the
// local driver. Each figure is measured three times in the same run — quiet, with workspace A
// running a fork bomb plus two CPU spinners, and quiet again — and printed as the ratio of the hog
// phase to the mean of the quiet ones (target: within 2×):
//   1. the control plane's API: sequential GET /api/v1/me, p50/p99;
//   2. workspace B's terminal: keystroke echo round trip (WebSocket → server → agent → PTY), p50/p99;
//   3. workspace B's agent channel: an `exec` of `true` through it (the path task events take back
//      to the control plane), p50/p99.
//
//   npm run bench:noisy [-- --seconds 5] [--keys 300] [--cpu 1] [--reserved-cpu 0.5]
//
// --cpu and --reserved-cpu set isolation.resourceLimits.cpu and runtime.local.reservedCpu, so the
// old defaults (--cpu 2 --reserved-cpu 0) can be measured beside the new ones. Loopback and unix
// sockets only; both workspaces are removed at the end, the hog with them.

import { mkdtempSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { newApiToken } from '../../server/auth/secrets.js';
import { systemClock } from '../../server/clock.js';
import { loadConfig } from '../../server/config/loadConfig.js';
import { buildApp } from '../../server/http/app.js';
import { createServices } from '../../server/services.js';
import { openDb } from '../../server/store/db.js';
import { startGitHttpServer } from '../../test/support/gitHttpServer.js';
import { intFlag, pct } from '../benchStats.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    keys: { type: 'string', default: '300' },
    cpu: { type: 'string', default: '1' },
    'reserved-cpu': { type: 'string', default: '0.5' },
  },
});
const SECONDS = intFlag('seconds', values.seconds, 60);
const KEYS = intFlag('keys', values.keys, 10_000);
const decimal = (name: string, v: string) => {
  if (!/^\d+(\.\d+)?$/.test(v)) throw new Error(`--${name} must be a decimal number such as 0.5`);
  return v;
};
const CPU = decimal('cpu', values.cpu);
const RESERVED = Number(decimal('reserved-cpu', values['reserved-cpu']));

// Runs for as long as its workspace does: a fork bomb (held at the workspace's pids limit, its
// children spinning on failed forks) and two busy loops.
const HOG =
  "nohup sh -c 'bomb() { bomb | bomb & }; bomb' >/dev/null 2>&1 & " +
  "for i in 1 2; do nohup sh -c 'while :; do :; done' >/dev/null 2>&1 & done; echo started";

interface Phase {
  api: number[];
  echo: number[];
  exec: number[];
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync('/tmp/rc-bench-noisy-');
  const git = await startGitHttpServer({
    repos: { a: { 'README.md': '# a\n' }, b: { 'README.md': '# b\n' } },
  });
  const config = loadConfig({
    env: {},
    flags: {
      dataDir,
      'log.level': 'silent',
      'egress.allow': [`127.0.0.1:${git.port}`],
      'runtime.local.cgroupParent': 'rc-bench-noisy',
      'runtime.local.reservedCpu': RESERVED,
      'isolation.resourceLimits': { cpu: CPU, memory: '512M' },
    },
  });
  const db = await openDb({ sqlitePath: `${dataDir}/remote-claude.db` });
  const s = createServices(config, db, systemClock);
  const app = await buildApp(s, { logStream: null });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const ids: string[] = [];
  try {
    const owner = await s.users.create({
      email: 'bench@example.test',
      name: null,
      role: 'member',
      passwordHash: null,
    });
    const tok = newApiToken();
    await s.tokens.create({
      userId: owner.id,
      name: 'bench',
      tokenHash: tok.hash,
      prefix: tok.prefix,
      expiresAt: null,
    });
    const auth = `Bearer ${tok.token}`;
    for (const repo of ['a', 'b']) {
      const { row } = await s.runtime.service.create(owner.id, { repository: git.url(repo) });
      ids.push(row.id);
      const done = await s.runtime.service.settled(row.id);
      if (done?.status !== 'running')
        throw new Error(`workspace ${repo} is ${done?.status}: ${done?.status_reason}`);
    }
    const [a, b] = ids as [string, string];
    const exec = (id: string, argv: string[]) => {
      const conn = s.runtime.hub.connection(id);
      if (!conn) throw new Error(`workspace ${id} has no agent connected`);
      return conn.peer.request('exec', { argv, timeoutMs: 20_000 }, { timeoutMs: 25_000 });
    };

    const term = new WebSocket(
      `${base.replace('http', 'ws')}/api/v1/workspaces/${b}/terminals?cols=80&rows=24`,
      {
        headers: { authorization: auth },
      },
    );
    await new Promise((r) => term.once('open', r));
    let screen = '';
    let waiter: (() => void) | undefined;
    term.on('message', (d: Buffer, binary: boolean) => {
      if (!binary) return;
      screen += d.toString('latin1');
      waiter?.();
    });
    await new Promise((r) => setTimeout(r, 500));

    const measure = async (): Promise<Phase> => {
      const api: number[] = [];
      const until = performance.now() + SECONDS * 1000;
      while (performance.now() < until) {
        const t0 = performance.now();
        const res = await fetch(`${base}/api/v1/me`, { headers: { authorization: auth } });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`GET /me answered ${res.status}`);
        api.push(performance.now() - t0);
      }
      const echo: number[] = [];
      for (let i = 0; i < KEYS; i++) {
        screen = '';
        const t0 = performance.now();
        const seen = new Promise<void>((r) => {
          waiter = () => screen.includes('x') && r();
        });
        term.send(Buffer.from('x'));
        await seen;
        echo.push(performance.now() - t0);
        if (i % 100 === 99) term.send(Buffer.from('\u0015'));
      }
      const execs: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        await exec(b, ['true']);
        execs.push(performance.now() - t0);
      }
      return { api, echo, exec: execs };
    };

    const quiet1 = await measure();
    const started = await exec(a, ['/bin/sh', '-c', HOG]);
    if (!JSON.stringify(started).includes('started'))
      throw new Error(`the hog did not start: ${JSON.stringify(started)}`);
    await new Promise((r) => setTimeout(r, 2000)); // let the bomb reach the pids limit
    const hog = await measure();
    await s.runtime.service.remove(a, { keepVolume: false });
    ids.shift();
    await new Promise((r) => setTimeout(r, 1000));
    const quiet2 = await measure();
    term.close();

    const ms = (x: number) => `${x.toFixed(1)} ms`.padStart(9);
    console.log(
      `\nA noisy neighbour on the local driver (workspace cpu ${CPU}, reservedCpu ${RESERVED}, ${SECONDS} s of API calls, ${KEYS} keys, 30 execs per phase)`,
    );
    console.log('                         quiet p50/p99        hog p50/p99   ratio p50  ratio p99');
    for (const [label, key] of [
      ['API GET /me', 'api'],
      ["B's terminal echo", 'echo'],
      ["B's agent channel exec", 'exec'],
    ] as const) {
      const q50 = (pct(quiet1[key], 50) + pct(quiet2[key], 50)) / 2;
      const q99 = (pct(quiet1[key], 99) + pct(quiet2[key], 99)) / 2;
      const h50 = pct(hog[key], 50);
      const h99 = pct(hog[key], 99);
      const ratios = `${(h50 / q50).toFixed(2)}×`.padStart(10) + `${(h99 / q99).toFixed(2)}×`.padStart(11);
      console.log(`  ${label.padEnd(23)}${ms(q50)} /${ms(q99)}  ${ms(h50)} /${ms(h99)} ${ratios}`);
    }
    console.log('  (target: every hog figure within 2× of quiet)');
  } finally {
    for (const id of ids) await s.runtime.service.remove(id, { keepVolume: false }).catch(() => {});
    await app.close();
    await db.close();
    await git.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
