// `npm run bench:workspace`: the local driver's figures, each beside its baseline in the same run.
//
//   1. create → agent connected, p50/p95 over N workspaces, beside bare `bwrap … true` and bare
//      `node -e 0` (target p50 ≤ 300 ms);
//   2. terminal keystroke echo round trip (WebSocket → server → agent → PTY → back), p50/p99 over
//      1,000 keystrokes, beside a direct node-pty echo of the same shell (target p99 ≤ 10 ms);
//   3. idle cost with M idle workspaces: RSS per workspace (every process in it, from the agent's
//      heartbeat) and control-plane RSS per workspace (target ≤ 60 MB per workspace, all in).
//
//   npm run bench:workspace [-- --workspaces 20] [--idle 100] [--keys 1000]
//
// Everything runs on loopback and unix sockets; the workspaces are removed at the end.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pty from 'node-pty';
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
    workspaces: { type: 'string', default: '20' },
    idle: { type: 'string', default: '100' },
    keys: { type: 'string', default: '1000' },
  },
});
const N = intFlag('workspaces', values.workspaces, 500);
const IDLE = Math.max(N, intFlag('idle', values.idle, 500));
const KEYS = intFlag('keys', values.keys, 100_000);

const ms = (x: number) => `${x.toFixed(1)} ms`;
const mb = (x: number) => `${(x / 1024 / 1024).toFixed(1)} MB`;

function timeCommand(argv: string[], runs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
    out.push(performance.now() - t0);
  }
  return out;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync('/tmp/rc-bench-');
  const git = await startGitHttpServer({ repos: { app: { 'README.md': '# bench\n' } } });
  const config = loadConfig({
    env: {},
    flags: {
      dataDir,
      'log.level': 'silent',
      'egress.allow': [`127.0.0.1:${git.port}`],
      'runtime.local.cgroupParent': 'rc-bench',
      'isolation.resourceLimits': { cpu: '1', memory: '512M' },
    },
  });
  const db = await openDb({ sqlitePath: `${dataDir}/remote-claude.db` });
  const s = createServices(config, db, systemClock);
  const app = await buildApp(s, { logStream: null });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const ids: string[] = [];
  try {
    // 1. create → agent connected
    const bwrap = timeCommand(
      [
        'bwrap',
        '--unshare-all',
        '--ro-bind',
        '/usr',
        '/usr',
        '--symlink',
        'usr/bin',
        '/bin',
        '--symlink',
        'usr/lib',
        '/lib',
        '--symlink',
        'usr/lib64',
        '/lib64',
        '--proc',
        '/proc',
        '--dev',
        '/dev',
        '--tmpfs',
        '/tmp',
        'true',
      ],
      N,
    );
    const node = timeCommand([process.execPath, '-e', '0'], N);
    const users = [];
    for (let i = 0; i < IDLE; i++)
      users.push(
        await s.users.create({
          email: `bench-${i}@example.test`,
          name: null,
          role: 'member',
          passwordHash: null,
        }),
      );
    const connect: number[] = [];
    for (let i = 0; i < IDLE; i++) {
      const t0 = performance.now();
      const connected = new Promise<string>((resolve) => {
        const on = (c: { workspaceId: string }) => {
          s.runtime.hub.off('connected', on);
          resolve(c.workspaceId);
        };
        s.runtime.hub.on('connected', on);
      });
      const { row } = await s.runtime.service.create((users[i] as { id: string }).id, {
        repository: git.url('app'),
      });
      ids.push(row.id);
      await connected;
      if (i < N) connect.push(performance.now() - t0);
      const done = await s.runtime.service.settled(row.id);
      if (done?.status !== 'running')
        throw new Error(`workspace ${i} is ${done?.status}: ${done?.status_reason}`);
    }
    console.log(`\n1. create → agent connected (${N} workspaces)`);
    console.log(`   ours            p50 ${ms(pct(connect, 50))}  p95 ${ms(pct(connect, 95))}`);
    console.log(`   bwrap … true    p50 ${ms(pct(bwrap, 50))}  p95 ${ms(pct(bwrap, 95))}`);
    console.log(`   node -e 0       p50 ${ms(pct(node, 50))}  p95 ${ms(pct(node, 95))}`);
    console.log(
      `   ratio p50: ${(pct(connect, 50) / pct(bwrap, 50)).toFixed(1)}× bwrap, ${(pct(connect, 50) / pct(node, 50)).toFixed(1)}× node  (target p50 ≤ 300 ms)`,
    );

    // 2. keystroke echo
    const owner = users[0] as { id: string };
    const tok = newApiToken();
    await s.tokens.create({
      userId: owner.id,
      name: 'bench',
      tokenHash: tok.hash,
      prefix: tok.prefix,
      expiresAt: null,
    });
    const ws = new WebSocket(
      `${base.replace('http', 'ws')}/api/v1/workspaces/${ids[0]}/terminals?cols=80&rows=24`,
      {
        headers: { authorization: `Bearer ${tok.token}` },
      },
    );
    const viaPlatform = await echoLoop(
      (data) => ws.send(Buffer.from(data)),
      (cb) => ws.on('message', (d: Buffer, bin: boolean) => bin && cb(d.toString('latin1'))),
      () => new Promise((r) => ws.once('open', r)),
    );
    ws.close();
    const direct = pty.spawn('/bin/sh', [], {
      cols: 80,
      rows: 24,
      env: { PATH: '/usr/bin:/bin', TERM: 'xterm' },
    });
    const viaPty = await echoLoop(
      (data) => direct.write(data),
      (cb) => direct.onData(cb),
      async () => {},
    );
    // Let node-pty flush its last write before the shell goes, or it reports EBADF.
    await new Promise((r) => setTimeout(r, 200));
    direct.kill();
    console.log(`\n2. keystroke echo round trip (${KEYS} keys)`);
    console.log(`   ours            p50 ${ms(pct(viaPlatform, 50))}  p99 ${ms(pct(viaPlatform, 99))}`);
    console.log(`   direct node-pty p50 ${ms(pct(viaPty, 50))}  p99 ${ms(pct(viaPty, 99))}`);
    console.log(`   added p99: ${ms(pct(viaPlatform, 99) - pct(viaPty, 99))}  (target p99 ≤ 10 ms)`);

    // 3. idle cost
    const before = process.memoryUsage().rss;
    await new Promise((r) => setTimeout(r, 12_000));
    const rows = await Promise.all(ids.map((id) => s.workspaces.byId(id)));
    const rss = rows.map((r) =>
      r?.usage ? (JSON.parse(r.usage) as { memoryBytes: number }).memoryBytes : Number.NaN,
    );
    const cpRss = process.memoryUsage().rss;
    console.log(`\n3. idle cost (${IDLE} idle workspaces)`);
    console.log(
      `   RSS per workspace (all its processes)  p50 ${mb(pct(rss, 50))}  max ${mb(Math.max(...rss))}`,
    );
    console.log(
      `   control-plane RSS ${mb(cpRss)} in all, ${mb(cpRss / IDLE)} per workspace (was ${mb(before)} before idling)`,
    );
    console.log(`   all in per workspace: ${mb(pct(rss, 50) + cpRss / IDLE)}  (target ≤ 60 MB)`);
  } finally {
    for (const id of ids) await s.runtime.service.remove(id, { keepVolume: false }).catch(() => {});
    await app.close();
    await db.close();
    await git.close();
    rmSync(dataDir, { recursive: true, force: true });
  }

  async function echoLoop(
    write: (data: string) => void,
    onData: (cb: (s: string) => void) => void,
    ready: () => Promise<unknown>,
  ): Promise<number[]> {
    await ready();
    let buffered = '';
    let waiter: (() => void) | undefined;
    onData((d) => {
      buffered += d;
      waiter?.();
    });
    await new Promise((r) => setTimeout(r, 500));
    const times: number[] = [];
    for (let i = 0; i < KEYS; i++) {
      buffered = '';
      const t0 = performance.now();
      const seen = new Promise<void>((r) => {
        waiter = () => buffered.includes('x') && r();
      });
      write('x');
      await seen;
      times.push(performance.now() - t0);
      if (i % 100 === 99) write('\u0015'); // Ctrl-U: keep the line short
    }
    return times;
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
