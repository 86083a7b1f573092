// `npm run bench:noisy`: what one workspace's fork bomb and CPU hog cost everyone else, on the
// local driver and on Docker. Each figure is measured three times in the same run — quiet, with
// workspace A running a fork bomb plus two CPU spinners, and quiet again — and printed as the
// ratio of the hog phase to the mean of the quiet ones (target: within 2×):
//   1. the control plane's API: sequential GET /api/v1/me, p50/p99;
//   2. a task's event delivery: the model stub's answer → the task's assistant event at a
//      WebSocket viewer (the real claude CLI in workspace B, its agent, ingest and fan-out), p50/p99;
//   3. workspace B's terminal: keystroke echo round trip (WebSocket → server → agent → PTY), p50/p99.
//
//   npm run bench:noisy [-- --runtime local|docker|both] [--requests 400] [--keys 300] [--turns 21]
//                       [--cpu 1] [--reserved-cpu 0.5]
//
// --cpu and --reserved-cpu set isolation.resourceLimits.cpu and runtime.{local,docker}.reservedCpu,
// so the old defaults (--cpu 2 --reserved-cpu 0) can be measured beside the new ones. Loopback and
// unix sockets only; both workspaces are removed at the end, the hog with them.

import { parseArgs } from 'node:util';
import { startModelStub } from '../../test/support/modelStub.js';
import { HOG_SCRIPT, type NeighbourFigures, openNeighbourProbe } from '../../test/support/neighbourProbe.js';
import { dockerFlags, startWorkspaceKit } from '../../test/support/workspaceKit.js';
import { intFlag, pct } from '../benchStats.js';

const { values } = parseArgs({
  options: {
    runtime: { type: 'string', default: 'both' },
    requests: { type: 'string', default: '400' },
    keys: { type: 'string', default: '300' },
    turns: { type: 'string', default: '21' },
    cpu: { type: 'string', default: '1' },
    'reserved-cpu': { type: 'string', default: '0.5' },
  },
});
const REQUESTS = intFlag('requests', values.requests, 100_000);
const KEYS = intFlag('keys', values.keys, 10_000);
const TURNS = intFlag('turns', values.turns, 200, 2);
const decimal = (name: string, v: string) => {
  if (!/^\d+(\.\d+)?$/.test(v)) throw new Error(`--${name} must be a decimal number such as 0.5`);
  return Number(v);
};
const CPU = decimal('cpu', values.cpu);
const RESERVED = decimal('reserved-cpu', values['reserved-cpu']);
const RUNTIMES = { local: ['local'], docker: ['docker'], both: ['local', 'docker'] }[values.runtime];
if (!RUNTIMES) throw new Error('--runtime must be local, docker or both');
const ORG_KEY = 'sk-ant-bench-noisy-0123456789';

async function bench(driver: string): Promise<void> {
  const stub = await startModelStub({ expectedApiKey: ORG_KEY });
  const k = await startWorkspaceKit({
    flags: {
      'runtime.driver': driver,
      ...(driver === 'docker' ? await dockerFlags() : {}),
      'gateway.upstream': stub.url,
      'claude.apiKey': ORG_KEY,
      'isolation.resourceLimits': { cpu: CPU, memory: '1G' },
      'runtime.local.reservedCpu': RESERVED,
      'runtime.docker.reservedCpu': RESERVED,
    },
  });
  try {
    const base = await k.t.app.listen({ port: 0, host: '127.0.0.1' });
    const [a, b] = [await k.create(k.repo('other')), await k.create(k.repo('app'))];
    for (const w of [a, b]) {
      const done = await k.settle(w.id, k.auth, 120_000);
      if (done.status !== 'running')
        throw new Error(`workspace ${w.id} is ${done.status}: ${done.statusReason}`);
    }
    const probe = await openNeighbourProbe({
      base,
      auth: k.auth,
      workspaceId: b.id,
      stub,
      apiRequests: REQUESTS,
      keys: KEYS,
      turns: TURNS,
    });
    const quiet1 = await probe.measure();
    const started = await k.exec(a.id, ['/bin/sh', '-c', HOG_SCRIPT]);
    if (!started.stdout.includes('started'))
      throw new Error(`the hog did not start: ${JSON.stringify(started)}`);
    await new Promise((r) => setTimeout(r, 2000)); // the bomb reaches the pids limit
    const hog = await probe.measure();
    await k.t.services.runtime.service.remove(a.id, { keepVolume: false });
    await new Promise((r) => setTimeout(r, 1000));
    const quiet2 = await probe.measure();
    probe.close();
    report(driver, quiet1, hog, quiet2);
  } finally {
    await k.close();
    await stub.close();
  }
}

function report(
  driver: string,
  quiet1: NeighbourFigures,
  hog: NeighbourFigures,
  quiet2: NeighbourFigures,
): void {
  const ms = (x: number) => `${x.toFixed(1)} ms`.padStart(9);
  console.log(
    `\nA noisy neighbour on the ${driver} driver (workspace cpu ${CPU}, reservedCpu ${RESERVED}; ` +
      `${REQUESTS} API calls, ${TURNS - 1} task events, ${KEYS} keys per phase)`,
  );
  console.log('                           quiet p50/p99        hog p50/p99   ratio p50  ratio p99');
  for (const [label, key] of [
    ['API GET /me', 'api'],
    ["a task's event delivery", 'events'],
    ["B's terminal echo", 'echo'],
  ] as const) {
    const q50 = (pct(quiet1[key], 50) + pct(quiet2[key], 50)) / 2;
    const q99 = (pct(quiet1[key], 99) + pct(quiet2[key], 99)) / 2;
    const h50 = pct(hog[key], 50);
    const h99 = pct(hog[key], 99);
    const ratios = `${(h50 / q50).toFixed(2)}×`.padStart(10) + `${(h99 / q99).toFixed(2)}×`.padStart(11);
    console.log(`  ${label.padEnd(25)}${ms(q50)} /${ms(q99)}  ${ms(h50)} /${ms(h99)} ${ratios}`);
  }
  console.log('  (target: every hog figure within 2× of quiet)');
}

async function main(): Promise<void> {
  for (const driver of RUNTIMES as string[]) await bench(driver);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
