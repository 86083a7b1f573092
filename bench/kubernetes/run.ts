// `npm run bench:kubernetes`: the kubernetes driver's figures on the FAKE API server and fake
// kubelet (test/support/fakeKubernetes.ts; no cluster can run here), each beside its baseline.
//
//   1. create → agent connected, p50/p95 over N workspaces, on the fake-kubelet path (the real
//      driver and client, the fake API, the pod run on the local Docker engine with a veth of a
//      test bridge, the real agent dialling the network endpoint), beside `docker run --rm
//      --network none <same image> true` in the same run (target: ratio ≤ 1.5 at p50);
//   2. inspect of M workspaces answered from the watch cache: p50/p99 per call (target p99 ≤ 5 ms)
//      and the API calls the fake saw meanwhile (target 0).
//
//   npm run bench:kubernetes [-- --workspaces 10] [--inspect 1000]
//
// Needs root (the bridge and veths), iproute2 and a Docker daemon on /var/run/docker.sock (npm
// test's setup starts one); builds the test workspace image if missing. Everything is removed at
// the end.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { systemClock } from '../../server/clock.js';
import { loadConfig } from '../../server/config/loadConfig.js';
import { KubernetesDriver } from '../../server/drivers/kubernetes/kubernetesDriver.js';
import { buildApp } from '../../server/http/app.js';
import { createServices } from '../../server/services.js';
import { openDb } from '../../server/store/db.js';
import { FakeKubelet } from '../../test/support/fakeKubelet.js';
import { FakeKubernetes } from '../../test/support/fakeKubernetes.js';
import { createFakePodNetwork } from '../../test/support/fakePodNetwork.js';
import { startGitHttpServer } from '../../test/support/gitHttpServer.js';
import { ensureWorkspaceImage } from '../../test/support/workspaceImage.js';
import { intFlag, pct } from '../benchStats.js';
import { bareDockerRuns, printStartRatio, timeCreateToConnected } from '../workspaceStarts.js';

const { values } = parseArgs({
  options: { workspaces: { type: 'string', default: '10' }, inspect: { type: 'string', default: '1000' } },
});
const N = intFlag('workspaces', values.workspaces, 100);
const M = intFlag('inspect', values.inspect, 10_000);
const NS = 'bench';

const ms = (x: number) => `${x.toFixed(x < 10 ? 3 : 0)} ms`;

async function main(): Promise<void> {
  const image = await ensureWorkspaceImage();
  const dataDir = mkdtempSync('/tmp/rc-bench-k8s-');
  chmodSync(dataDir, 0o711);
  const api = new FakeKubernetes();
  const net = await createFakePodNetwork('rcbench');
  const kubelet = new FakeKubelet({ api, prefix: 'rcbenchk8s', podPidsLimit: 1024, network: net });
  await api.listen();
  const kubeconfig = api.writeKubeconfig(dataDir);
  const git = await startGitHttpServer({ repos: { app: { 'README.md': '# bench\n' } } });
  const config = loadConfig({
    env: {},
    flags: {
      dataDir,
      'log.level': 'silent',
      'runtime.driver': 'kubernetes',
      'runtime.kubernetes': { kubeconfig, namespace: NS, installation: 'bench', image },
      'egress.allow': [`127.0.0.1:${git.port}`],
      'isolation.resourceLimits': { cpu: '1', memory: '512M' },
      'sessions.maxPerUser': 1000,
    },
  });
  const db = await openDb({ sqlitePath: `${dataDir}/remote-claude.db` });
  const s = createServices(config, db, systemClock);
  const app = await buildApp(s, { logStream: null });
  s.publicUrl = await app.listen({ port: 0, host: net.hostAddress });
  const ids: string[] = [];
  const cacheDriver = new KubernetesDriver({ kubeconfig, namespace: NS, installation: 'benchcache', image });
  try {
    const bare = bareDockerRuns(image, N);
    const connect = await timeCreateToConnected(s, { n: N, repository: git.url('app'), ids });
    console.log(`\n1. create → agent connected (${N} workspaces, fake API + fake kubelet on Docker)`);
    printStartRatio('ours', connect, bare);

    // 2. M workspaces' objects (no pods: the cache path is the same for a running one), then one
    // inspect of each, timed one by one, with the fake's request log as the witness.
    const refs = [];
    for (let i = 0; i < M; i++) {
      refs.push(
        await cacheDriver.create({
          workspaceId: `cache-${i}`,
          resources: { cpu: 0.5, memoryBytes: 256 * 2 ** 20, pids: 256 },
          env: { RC_AGENT_URL: `ws://${net.hostAddress}:9/api/v1/agent`, RC_AGENT_TOKEN: 'x'.repeat(43) },
        }),
      );
    }
    const calls = api.apiCalls().length;
    const inspect: number[] = [];
    for (const ref of refs) {
      const t0 = performance.now();
      const state = await cacheDriver.inspect(ref);
      inspect.push(performance.now() - t0);
      if (state.status !== 'stopped') throw new Error(`${ref.workspaceId} is ${state.status}`);
    }
    const made = api.apiCalls().length - calls;
    console.log(`\n2. inspect of ${M} workspaces from the watch cache`);
    console.log(
      `   p50 ${ms(pct(inspect, 50))}  p99 ${ms(pct(inspect, 99))}  max ${ms(Math.max(...inspect))}`,
    );
    console.log(`   API calls during the ${M} inspects: ${made}`);
    const ok = pct(inspect, 99) <= 5 && made === 0;
    console.log(`   target p99 ≤ 5 ms with no API call  ${ok ? 'PASS' : 'MISS'}`);
    for (const ref of refs) await cacheDriver.remove(ref);
  } finally {
    for (const id of ids) await s.runtime.service.remove(id, { keepVolume: false }).catch(() => {});
    await cacheDriver.close();
    await app.close();
    await db.close();
    await git.close();
    await api.close();
    await kubelet.removeAll();
    await net.remove();
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
