// `npm run bench:docker`: the docker driver's figures, each beside its baseline in the same run.
//
//   1. create → agent connected, p50/p95 over N workspaces, beside `docker run --rm --network none
//      <same image> true` (target: ratio ≤ 1.5 at p50);
//   2. memory per idle workspace container (the container's cgroup memory usage, from the
//      driver's inspect) with M idle workspaces;
//   3. create → agent connected under gVisor (runtime.docker.runtime: runsc), beside runc's figure
//      from step 1 and a bare `docker run --runtime runsc … true`.
//
//   npm run bench:docker [-- --workspaces 20] [--idle 50]
//
// Needs a Docker daemon on /var/run/docker.sock (npm test's setup starts one) and builds the test
// workspace image if missing. Everything is removed at the end.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { systemClock } from '../../server/clock.js';
import { loadConfig } from '../../server/config/loadConfig.js';
import { buildApp } from '../../server/http/app.js';
import { createServices } from '../../server/services.js';
import { openDb } from '../../server/store/db.js';
import { startGitHttpServer } from '../../test/support/gitHttpServer.js';
import { ensureWorkspaceImage } from '../../test/support/workspaceImage.js';
import { intFlag, pct } from '../benchStats.js';
import { bareDockerRuns, printStartRatio, timeCreateToConnected } from '../workspaceStarts.js';

const { values } = parseArgs({
  options: { workspaces: { type: 'string', default: '20' }, idle: { type: 'string', default: '50' } },
});
const N = intFlag('workspaces', values.workspaces, 200);
const IDLE = Math.max(N, intFlag('idle', values.idle, 200));

const ms = (x: number) => `${x.toFixed(0)} ms`;
const mb = (x: number) => `${(x / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const image = await ensureWorkspaceImage();
  const dataDir = mkdtempSync('/tmp/rc-bench-docker-');
  chmodSync(dataDir, 0o711);
  const git = await startGitHttpServer({ repos: { app: { 'README.md': '# bench\n' } } });
  const flags = {
    dataDir,
    'log.level': 'silent',
    'runtime.driver': 'docker',
    'runtime.docker.image': image,
    'runtime.docker.installation': 'bench',
    'egress.allow': [`127.0.0.1:${git.port}`],
    'isolation.resourceLimits': { cpu: '1', memory: '512M' },
  };
  const config = loadConfig({ env: {}, flags });
  const db = await openDb({ sqlitePath: `${dataDir}/remote-claude.db` });
  const s = createServices(config, db, systemClock);
  const app = await buildApp(s, { logStream: null });
  const ids: string[] = [];
  const gvisorIds: string[] = [];
  try {
    const bare = bareDockerRuns(image, N);
    // IDLE workspaces in all (they stay up for the memory figure); the first N are timed.
    const connect = (await timeCreateToConnected(s, { n: IDLE, repository: git.url('app'), ids })).slice(
      0,
      N,
    );
    console.log(`\n1. create → agent connected (${N} workspaces)`);
    printStartRatio('ours', connect, bare);

    await new Promise((r) => setTimeout(r, 10_000));
    const memory: number[] = [];
    for (const id of ids) {
      const row = await s.workspaces.byId(id);
      const ref = row?.runtime_ref ? JSON.parse(row.runtime_ref) : undefined;
      const state = ref ? await s.runtime.driver.inspect(ref) : undefined;
      if (state?.usage?.memoryBytes !== undefined) memory.push(state.usage.memoryBytes);
    }
    console.log(`\n2. memory per idle workspace container (${IDLE} idle, cgroup memory usage)`);
    console.log(
      `   p50 ${mb(pct(memory, 50))}  max ${mb(Math.max(...memory))}  (${memory.length} containers)`,
    );

    // 3. The same start under gVisor, through a second control plane on the same store whose
    // driver names runsc (the daemon must have it registered: test/setupHost.sh does).
    const runscBare: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      execFileSync('docker', ['run', '--rm', '--runtime', 'runsc', '--network', 'none', image, 'true'], {
        stdio: 'ignore',
      });
      runscBare.push(performance.now() - t0);
    }
    for (const id of ids.splice(0)) await s.runtime.service.remove(id, { keepVolume: false });
    const gvisor = createServices(
      loadConfig({
        env: {},
        flags: {
          ...flags,
          'runtime.docker.runtime': 'runsc',
          'runtime.docker.installation': 'bench-runsc',
        },
      }),
      db,
      systemClock,
    );
    const runscConnect: number[] = [];
    try {
      for (let i = 0; i < N; i++) {
        const user = await gvisor.users.create({
          email: `bench-runsc-${i}@example.test`,
          name: null,
          role: 'member',
          passwordHash: null,
        });
        const t0 = performance.now();
        const connected = new Promise<void>((resolve) =>
          gvisor.runtime.hub.once('connected', () => resolve()),
        );
        const { row } = await gvisor.runtime.service.create(user.id, { repository: git.url('app') });
        gvisorIds.push(row.id);
        await connected;
        runscConnect.push(performance.now() - t0);
        const done = await gvisor.runtime.service.settled(row.id, 120_000);
        if (done?.status !== 'running')
          throw new Error(`runsc workspace ${i} is ${done?.status}: ${done?.status_reason}`);
      }
    } finally {
      for (const id of gvisorIds)
        await gvisor.runtime.service.remove(id, { keepVolume: false }).catch(() => {});
      await gvisor.runtime.close();
    }
    console.log(`\n3. create → agent connected under gVisor (runsc, ${N} workspaces)`);
    console.log(
      `   ours, runsc                   p50 ${ms(pct(runscConnect, 50))}  p95 ${ms(pct(runscConnect, 95))}`,
    );
    console.log(`   ours, runc (from 1.)          p50 ${ms(pct(connect, 50))}  p95 ${ms(pct(connect, 95))}`);
    console.log(
      `   docker run --runtime runsc    p50 ${ms(pct(runscBare, 50))}  p95 ${ms(pct(runscBare, 95))}`,
    );
    console.log(
      `   ratio at p50: ${(pct(runscConnect, 50) / pct(connect, 50)).toFixed(2)}× runc, ${(pct(runscConnect, 50) / pct(runscBare, 50)).toFixed(2)}× bare runsc`,
    );
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
