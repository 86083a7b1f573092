// `npm run bench:ecs`: create → agent connected on the ecs driver against the fake ECS + EFS
// endpoint (test/support/fakeEcs.ts: each task a container on the local Docker engine with a
// test-owned veth, the real agent dialling the control plane over it), beside a bare
// `docker run --rm --network none <same image> true` in the same run. The docker driver's target
// for its own path is a ratio ≤ 1.5 at p50; the ECS path adds what ECS itself costs in calls
// (access points, a task definition, RunTask, polling DescribeTasks for RUNNING), which the
// figure shows.
//
//   npm run bench:ecs [-- --workspaces 10] [--poll-ms 100]
//
// Needs root (the fake's veth), a Docker daemon on /var/run/docker.sock, and builds the test
// workspace image if missing. Everything is removed at the end.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { systemClock } from '../../server/clock.js';
import { loadConfig } from '../../server/config/loadConfig.js';
import { EcsDriver } from '../../server/drivers/ecs/ecsDriver.js';
import { buildApp } from '../../server/http/app.js';
import { createServices } from '../../server/services.js';
import { openDb } from '../../server/store/db.js';
import { FAKE_CREDENTIALS, FakeEcs } from '../../test/support/fakeEcs.js';
import { startGitHttpServer } from '../../test/support/gitHttpServer.js';
import { ensureWorkspaceImage } from '../../test/support/workspaceImage.js';
import { intFlag } from '../benchStats.js';
import { bareDockerRuns, printStartRatio, timeCreateToConnected } from '../workspaceStarts.js';

const { values } = parseArgs({
  options: { workspaces: { type: 'string', default: '10' }, 'poll-ms': { type: 'string', default: '100' } },
});
const N = intFlag('workspaces', values.workspaces, 100);
const POLL_MS = intFlag('poll-ms', values['poll-ms'], 5000, 10);
const _ms = (x: number) => `${x.toFixed(0)} ms`;

async function main(): Promise<void> {
  const image = await ensureWorkspaceImage();
  const dataDir = mkdtempSync('/tmp/rc-bench-ecs-');
  chmodSync(dataDir, 0o711);
  const fake = await FakeEcs.start({ mode: 'fargate' });
  const git = await startGitHttpServer({ repos: { app: { 'README.md': '# bench\n' } } });
  const config = loadConfig({
    env: {},
    flags: {
      dataDir,
      'log.level': 'silent',
      'egress.allow': [`127.0.0.1:${git.port}`],
      'isolation.resourceLimits': { cpu: '1', memory: '512M' },
      'sessions.maxPerUser': 100,
    },
  });
  const driver = new EcsDriver({
    region: fake.region,
    endpoint: fake.url,
    credentials: FAKE_CREDENTIALS,
    cluster: fake.cluster,
    capacityProviders: [{ name: 'FARGATE' }],
    subnets: ['subnet-0123456789abcdef0'],
    securityGroups: ['sg-0123456789abcdef0'],
    image,
    taskRoleArn: 'arn:aws:iam::123456789012:role/rc-workspace',
    efsFileSystemId: fake.fileSystemId,
    installation: 'bench',
    pollMs: POLL_MS,
    stopTimeoutSeconds: 2,
  });
  const db = await openDb({ sqlitePath: `${dataDir}/remote-claude.db` });
  const s = createServices(config, db, systemClock, { driver });
  const app = await buildApp(s, { logStream: null });
  s.publicUrl = await app.listen({ port: 0, host: fake.network?.hostAddress as string });
  const ids: string[] = [];
  try {
    const bare = bareDockerRuns(image, N);
    const connect = await timeCreateToConnected(s, { n: N, repository: git.url('app'), ids });
    console.log(
      `\ncreate → agent connected (${N} workspaces, fake ECS on Fargate, DescribeTasks every ${POLL_MS} ms)`,
    );
    printStartRatio('ours, ecs driver on fake ECS', connect, bare);
  } finally {
    for (const id of ids) await s.runtime.service.remove(id, { keepVolume: false }).catch(() => {});
    await app.close();
    await s.runtime.close();
    await driver.close();
    await db.close();
    await git.close();
    await fake.close();
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
