// `npm run bench:relay`: what relaying a workspace's streams to the replica holding its agent
// costs. Two replicas on one PostgreSQL; the real agent (a host process) connected to A. Terminal
// echo (a keystroke → its echo) through A itself, the baseline, and through B, whose socket is
// bridged to A; then a file download through each. Rounds alternate A and B so that machine noise
// falls on both alike.
//
//   npm run bench:relay [-- --keys 300] [--rounds 3] [--mib 32]
//
// PostgreSQL at RC_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), in a
// schema of its own that is dropped at the end.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { HostAgentDriver } from '../../test/support/hostAgentDriver.js';
import { openEchoTerminal } from '../../test/support/terminalEcho.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { intFlag, pct } from '../benchStats.js';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    mib: { type: 'string', default: '32' },
  },
});
const KEYS = intFlag('keys', values.keys, 10_000);
const ROUNDS = intFlag('rounds', values.rounds, 20);
const MIB = intFlag('mib', values.mib, 512);

const ms = (x: number) => `${x.toFixed(2)} ms`;

async function main(): Promise<number> {
  const driver = new HostAgentDriver();
  const flags = { 'workspaces.heartbeatIntervalMs': 1000, 'workspaces.startTimeout': 30 };
  let a: TestApp | undefined;
  let b: TestApp | undefined;
  try {
    a = await createTestApp('postgres', { services: { driver }, flags });
    b = await createTestApp('postgres', { services: { driver }, flags, sameStoreAs: a });
    const baseA = await a.app.listen({ port: 0, host: '127.0.0.1' });
    const baseB = await b.app.listen({ port: 0, host: '127.0.0.1' });
    a.services.publicUrl = baseA;
    await a.services.replicas.start(baseA);
    await b.services.replicas.start(baseB);
    const owner = await a.user('member');
    const auth = await a.bearer(owner);
    const service = a.services.runtime.service;
    const { row } = await service.create(owner.id, {
      repository: 'https://example.test/relay',
      start: false,
    });
    await a.services.workspaces.update(row.id, { cloned: 1 });
    await service.start(row.id);
    if ((await service.settled(row.id, 60_000))?.status !== 'running')
      throw new Error('the workspace did not start');
    for (let i = 0; (await b.services.relay.holder(row.id)) === undefined; i++) {
      if (i > 200) throw new Error('B never saw A holding the agent');
      await new Promise((r) => setTimeout(r, 50));
    }

    const terminals = `/api/v1/workspaces/${row.id}/terminals?cols=80&rows=24`;
    const onA = await openEchoTerminal(`${baseA.replace(/^http/, 'ws')}${terminals}`, auth);
    const onB = await openEchoTerminal(`${baseB.replace(/^http/, 'ws')}${terminals}`, auth);
    const echo = { a: [] as number[], b: [] as number[] };
    await onA.measure(20);
    await onB.measure(20);
    for (let r = 0; r < ROUNDS; r++) {
      echo.a.push(...(await onA.measure(KEYS)));
      echo.b.push(...(await onB.measure(KEYS)));
    }
    onA.close();
    onB.close();

    const file = `/api/v1/workspaces/${row.id}/files/bench/blob.bin`;
    const put = await fetch(`${baseA}${file}`, {
      method: 'PUT',
      headers: { authorization: auth },
      body: randomBytes(MIB * 1024 * 1024),
    });
    if (put.status !== 200) throw new Error(`writing the file answered ${put.status}`);
    const download = async (base: string) => {
      const t0 = performance.now();
      const res = await fetch(`${base}${file}`, { headers: { authorization: auth } });
      const bytes = (await res.arrayBuffer()).byteLength;
      if (bytes !== MIB * 1024 * 1024) throw new Error(`downloaded ${bytes} bytes`);
      return MIB / ((performance.now() - t0) / 1000);
    };
    const speed = { a: [] as number[], b: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      speed.a.push(await download(baseA));
      speed.b.push(await download(baseB));
    }

    const line = (xs: number[]) =>
      `p50 ${ms(pct(xs, 50))}  p99 ${ms(pct(xs, 99))}  max ${ms(Math.max(...xs))}`;
    console.log(`\nterminal echo, ${KEYS * ROUNDS} keystrokes each (${ROUNDS} alternating rounds)`);
    console.log(`   through A (holds the agent)   ${line(echo.a)}`);
    console.log(`   through B (relayed to A)      ${line(echo.b)}`);
    console.log(
      `   relay adds p50 ${ms(pct(echo.b, 50) - pct(echo.a, 50))}, p99 ${ms(pct(echo.b, 99) - pct(echo.a, 99))} (ratio p99 ${(pct(echo.b, 99) / pct(echo.a, 99)).toFixed(2)}×)`,
    );
    const best = (xs: number[]) => Math.max(...xs).toFixed(0);
    console.log(`\nfile download, ${MIB} MiB, best of ${ROUNDS}`);
    console.log(`   through A   ${best(speed.a)} MiB/s`);
    console.log(`   through B   ${best(speed.b)} MiB/s (relayed byte channel)`);
    return 0;
  } finally {
    await b?.services.replicas.stop();
    await a?.services.replicas.stop();
    await b?.close();
    await a?.close();
    await driver.removeAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
