// `npm run bench:density`: how many simulated users one replica (or two behind HAProxy) holds on
// this machine. Each user holds one event stream of its own task (SSE or WebSocket, alternately)
// and GETs that task every 10 s; every 10th user's task is running and streams ~5 events/s through
// the server's real ingest (scripted agents on the hub's unix sockets: stored, acked, announced,
// read back by the task's tail, fanned out). The users are added in steps; each step is held and
// measured: API p99, event lag p99 (the agent's send → the viewer's receipt), the server's RSS and
// RSS per user. Targets: API p99 ≤ 100 ms and lag p99 ≤ 250 ms; the largest step meeting both is
// the figure. Baselines in the same run: the same API calls with no stream open, and a bare `ws`
// broadcast of the top step's event rate to as many viewers.
//
//   npm run bench:density [-- --max-users 12000] [--step 2500] [--replicas 1|2] [--hold-seconds 20]
//                         [--profile FILE.cpuprofile]   (the server's CPU during the last step)
//
// The server runs in this process (SQLite in memory; with --replicas 2, two apps on one PostgreSQL
// schema behind HAProxy); the users and agents run in two child processes with their own file
// descriptors. Bounded: at most 20,000 users and 60 s a step; everything stops and is removed at
// the end. Exits 1 when a step failed outright (streams refused, API errors).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { newApiToken } from '../../server/auth/secrets.js';
import { hashAgentToken } from '../../server/workspaces/agentHub.js';
import { type LoadBalancer, startLoadBalancer } from '../../test/support/loadBalancer.js';
import { createTestApp, type TestApp } from '../../test/support/testApp.js';
import { pct } from '../benchStats.js';
import type { GenCommand, GenReport, SimUser } from './protocol.js';

const TARGET_API_P99_MS = 100;
const TARGET_LAG_P99_MS = 250;
const EVENTS_PER_SECOND = 5;
const WATCH_EVERY = 10;
const AGENTS = 8;
const GENERATORS = 2;
/** New streams a second per generator while a step ramps up. */
const OPEN_PER_SECOND = 600;
/** After a ramp, before measuring: the new users' first calls and streams settle. */
const SETTLE_MS = 3000;
const DEFAULT_STEPS = [1000, 2500, 5000, 7500, 10_000, 12_000];

const Flags = z.object({
  'max-users': z.coerce.number().int().min(10).max(20_000).default(12_000),
  step: z.coerce.number().int().min(10).max(20_000).optional(),
  replicas: z.enum(['1', '2']).default('1').transform(Number),
  'hold-seconds': z.coerce.number().int().min(3).max(60).default(15),
  /** A file to write a CPU profile of this process (the server) to, taken during the last step. */
  profile: z.string().min(1).optional(),
});

function parseFlags(argv: string[]): z.infer<typeof Flags> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'max-users': { type: 'string' },
      step: { type: 'string' },
      replicas: { type: 'string' },
      'hold-seconds': { type: 'string' },
      profile: { type: 'string' },
    },
  });
  const parsed = Flags.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`--${String(issue?.path[0])}: ${issue?.message}`);
  }
  return parsed.data;
}

/** A child process with its own descriptor limit (Node cannot raise it for itself). */
class Generator {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: GenReport) => void>();
  readonly ready: Promise<void>;

  constructor(readonly child: ChildProcess) {
    let ready: () => void = () => {};
    this.ready = new Promise((r) => {
      ready = r;
    });
    child.on('message', (m: GenReport) => {
      if (m.kind === 'ready') ready();
      else this.waiting.get(m.id)?.(m);
    });
  }

  static start(): Generator {
    const script = fileURLToPath(new URL('./loadGen.js', import.meta.url));
    const child = spawn('bash', ['-c', 'ulimit -n 20000; exec node "$0"', script], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Generator(child);
  }

  async ask(cmd: Omit<GenCommand, 'id'> & Record<string, unknown>): Promise<GenReport> {
    const id = this.nextId++;
    const answered = new Promise<GenReport>((resolve) => this.waiting.set(id, resolve));
    this.child.send({ ...cmd, id });
    const r = await answered;
    this.waiting.delete(id);
    if (r.kind === 'error') throw new Error(`load generator: ${r.message}`);
    return r;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await once(this.child, 'exit');
  }
}

interface StepResult {
  users: number;
  watchers: number;
  apiP50: number;
  apiP99: number;
  lagP50: number;
  lagP99: number;
  lagSamples: number;
  errors: number;
  /** Streams refused or ended by the server or load balancer during the step, its ramp included. */
  lost: number;
  rssMb: number;
  heapMb: number;
  streams: number;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  const maxUsers = flags['max-users'];
  const step = flags.step;
  const steps = step
    ? Array.from({ length: Math.ceil(maxUsers / step) }, (_, i) => Math.min(maxUsers, (i + 1) * step))
    : [...DEFAULT_STEPS.filter((n) => n < maxUsers), maxUsers];
  const hold = flags['hold-seconds'] * 1000;
  const started = performance.now();

  const apps: TestApp[] = [];
  let lb: LoadBalancer | undefined;
  const gens: Generator[] = [];
  const stops: (() => void)[] = [];
  const bare = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  try {
    const engine = flags.replicas === 2 ? 'postgres' : 'sqlite';
    const a = await createTestApp(engine);
    apps.push(a);
    if (flags.replicas === 2) apps.push(await createTestApp('postgres', { sameStoreAs: a }));
    const addresses: string[] = [];
    for (const app of apps) {
      await app.app.listen({ host: '127.0.0.1', port: 0 });
      addresses.push(`127.0.0.1:${(app.app.server.address() as AddressInfo).port}`);
    }
    if (flags.replicas === 2) {
      lb = await startLoadBalancer(
        addresses.map((address, i) => ({ name: `r${i}`, address })),
        {
          maxconn: 9800,
        },
      );
    }
    const base = lb ? lb.url : `http://${addresses[0]}`;
    // The apps run on the tests' manual clocks: move them with real time, so that what a server
    // does on its clock (SSE keepalives every 15 s, the expiry sweep, last_used_at) costs here
    // what it costs in a real one.
    let pumped = performance.now();
    const pump = setInterval(() => {
      const now = performance.now();
      for (const app of apps) app.clock.advance(Math.round(now - pumped));
      pumped = now;
    }, 200);
    stops.push(() => clearInterval(pump));
    for (let i = 0; i < GENERATORS; i++) gens.push(Generator.start());
    await Promise.all(gens.map((g) => g.ready));

    // The users, their tokens and tasks, straight in the store: idle ones' tasks finished in one
    // workspace; watchers' tasks running, spread over the agents' workspaces.
    const s = a.services;
    console.log(`seeding ${maxUsers} users (${engine})…`);
    const owner = await a.user('member');
    const idleWs = await workspaceRow(a, owner.id);
    const agentWs: string[] = [];
    for (let i = 0; i < AGENTS; i++) agentWs.push(await workspaceRow(a, owner.id));
    const users: (SimUser & { workspaceId?: string })[] = [];
    for (let i = 0; i < maxUsers; i += 200) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(200, maxUsers - i) }, async (_, j) => {
          const n = i + j;
          const u = await s.users.create({
            email: `density-${n}@example.test`,
            name: null,
            role: 'member',
            passwordHash: null,
          });
          const tok = newApiToken();
          await s.tokens.create({
            userId: u.id,
            name: 'density',
            tokenHash: tok.hash,
            prefix: tok.prefix,
            expiresAt: null,
          });
          const watch = n % WATCH_EVERY === 0;
          const workspaceId = watch ? (agentWs[(n / WATCH_EVERY) % AGENTS] as string) : idleWs;
          const task = await s.tasks.create({
            ownerId: u.id,
            workspaceId,
            repository: 'https://example.test/repo',
            prompt: 'density',
            permissionMode: 'default',
          });
          await s.tasks.transition(task.id, ['queued'], watch ? 'running' : 'succeeded', {
            status_reason: null,
          });
          return {
            token: tok.token,
            taskId: task.id,
            kind: n % 2 === 0 ? 'ws' : 'sse',
            ...(watch ? { workspaceId } : {}),
          } as const;
        }),
      );
      users.push(...batch);
    }
    console.log(`seeded in ${((performance.now() - started) / 1000).toFixed(0)} s`);

    const collect = async () => {
      const all = await Promise.all(gens.map((g) => g.ask({ kind: 'collect' })));
      const api: number[] = [];
      const lag: number[] = [];
      let errors = 0;
      let lost = 0;
      for (const r of all) {
        if (r.kind !== 'samples') continue;
        for (const x of r.apiMs) api.push(x);
        for (const x of r.lagMs) lag.push(x);
        errors += r.errors;
        lost += r.lost;
      }
      return { api, lag, errors, lost };
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const split = (list: SimUser[]) => gens.map((_, g) => list.filter((_, i) => i % gens.length === g));

    // Baseline 1: the top step's API calls with no stream open.
    const top = users.slice(0, maxUsers);
    await Promise.all(split(top).map((part, g) => gens[g]?.ask({ kind: 'apiOnly', base, users: part })));
    await sleep(10_000);
    await Promise.all(gens.map((g) => g.ask({ kind: 'reset' })));
    await sleep(hold);
    const idle = await collect();
    await Promise.all(gens.map((g) => g.ask({ kind: 'close' })));
    console.log(
      `\nbaseline: the same API calls (${maxUsers} users, ${maxUsers / 10} calls/s), no stream open: p50 ${f1(pct(idle.api, 50))} ms  p99 ${f1(pct(idle.api, 99))} ms  (${idle.api.length} calls, ${idle.errors} errors)`,
    );
    // The agents, in the first generator, after the baseline; each reports its workspace's
    // running tasks.
    const agentGen = gens[0] as Generator;
    for (const workspaceId of agentWs) {
      const token = newApiToken().token;
      await s.workspaces.update(workspaceId, { agent_token_hash: hashAgentToken(token) });
      const dir = (await s.runtime.hub.listen(workspaceId)) as string;
      const accepted = s.runtime.hub.waitForAgent(workspaceId, 10_000);
      const taskIds = users.filter((u) => u.workspaceId === workspaceId).map((u) => u.taskId);
      await agentGen.ask({ kind: 'agent', dir, token, workspaceId, taskIds });
      await accepted;
    }

    // The steps.
    const results: StepResult[] = [];
    let open = 0;
    const rss0 = process.memoryUsage().rss;
    console.log(`\nserver RSS before any stream: ${(rss0 / 2 ** 20).toFixed(0)} MB`);
    console.log(
      '\n users  watchers  API p50/p99 ms   lag p50/p99 ms   lag samples  errors  lost  streams  RSS MB  heap MB  KB/user  verdict',
    );
    for (const n of steps) {
      if (performance.now() - started > 7 * 60_000) {
        console.log('(stopping before the next step: the bench keeps to 10 minutes)');
        break;
      }
      const profiling = flags.profile && n === steps.at(-1) ? await startProfile() : undefined;
      const adding = users.slice(open, n);
      await Promise.all(
        split(adding).map((part, g) =>
          gens[g]?.ask({ kind: 'users', base, users: part, perSecond: OPEN_PER_SECOND }),
        ),
      );
      const active = users
        .slice(0, n)
        .filter((u) => u.workspaceId)
        .map((u) => ({ workspaceId: u.workspaceId as string, taskId: u.taskId }));
      await agentGen.ask({ kind: 'emit', active, rate: EVENTS_PER_SECOND });
      open = n;
      await sleep(SETTLE_MS);
      await Promise.all(gens.map((g) => g.ask({ kind: 'reset' })));
      await sleep(hold);
      const m = await collect();
      if (profiling && flags.profile) {
        writeFileSync(flags.profile, JSON.stringify(await profiling()));
        console.log(`(CPU profile of this step: ${flags.profile})`);
      }
      const mem = process.memoryUsage();
      const streams = apps.reduce((k, app) => k + app.services.liveConnections.size, 0);
      const r: StepResult = {
        users: n,
        watchers: active.length,
        apiP50: pct(m.api, 50),
        apiP99: pct(m.api, 99),
        lagP50: pct(m.lag, 50),
        lagP99: pct(m.lag, 99),
        lagSamples: m.lag.length,
        errors: m.errors,
        lost: m.lost,
        rssMb: mem.rss / 2 ** 20,
        heapMb: mem.heapUsed / 2 ** 20,
        streams,
      };
      results.push(r);
      const ok = passes(r);
      console.log(
        `${String(n).padStart(6)}  ${String(r.watchers).padStart(8)}  ${`${f1(r.apiP50)}/${f1(r.apiP99)}`.padStart(14)}  ${`${f1(r.lagP50)}/${f1(r.lagP99)}`.padStart(15)}  ${String(r.lagSamples).padStart(11)}  ${String(r.errors).padStart(6)}  ${String(r.lost).padStart(4)}  ${String(streams).padStart(7)}  ${r.rssMb.toFixed(0).padStart(6)}  ${r.heapMb.toFixed(0).padStart(7)}  ${((mem.rss - rss0) / n / 1024).toFixed(0).padStart(7)}  ${ok ? 'PASS' : 'MISS'}`,
      );
    }
    await Promise.all(gens.map((g) => g.ask({ kind: 'close' })));

    // Baseline 2: a bare ws broadcast, as many viewers and events as the last step's watchers.
    const last = results.at(-1) as StepResult;
    const { port } = bare.address() as AddressInfo;
    const viewers = last.watchers;
    await Promise.all(
      split(users.slice(0, viewers)).map((part, g) =>
        gens[g]?.ask({ kind: 'bare', url: `ws://127.0.0.1:${port}/`, viewers: part.length }),
      ),
    );
    const clients = [...bare.clients];
    const PAD = 'x'.repeat(200);
    const t0 = performance.now();
    let sent = 0;
    const pace = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / 1000) * EVENTS_PER_SECOND * clients.length);
      while (sent < due) {
        const c = clients[sent % clients.length];
        const stamp = Number(process.hrtime.bigint()) / 1e6;
        c?.send(
          `{"seq":${sent + 1},"type":"stream_event","payload":{"type":"stream_event","event":{"type":"rc_bench","sent":${stamp}},"pad":"${PAD}"},"createdAt":"${new Date().toISOString()}"}`,
        );
        sent++;
      }
    }, 20);
    await sleep(2000);
    await Promise.all(gens.map((g) => g.ask({ kind: 'reset' })));
    await sleep(Math.min(hold, 10_000));
    const bareM = await collect();
    clearInterval(pace);
    console.log(
      `\nbaseline: bare ws broadcast, ${viewers} viewers, ${viewers * EVENTS_PER_SECOND} events/s: lag p50 ${f1(pct(bareM.lag, 50))} ms  p99 ${f1(pct(bareM.lag, 99))} ms`,
    );

    const best = results.filter(passes).at(-1);
    const firstMiss = results.find((r) => !passes(r));
    console.log('\nsummary');
    console.log(
      `   replicas ${flags.replicas} (${engine}), ${AGENTS} scripted agents, ${EVENTS_PER_SECOND} events/s per watched task`,
    );
    console.log(
      `   largest step with API p99 ≤ ${TARGET_API_P99_MS} ms and lag p99 ≤ ${TARGET_LAG_P99_MS} ms: ${best ? `${best.users} users` : 'none'}`,
    );
    if (firstMiss)
      console.log(
        `   first step that missed: ${firstMiss.users} users${best && best.users > firstMiss.users ? ' (a later step passed: the machine is shared, so read each step with the baselines)' : ''}`,
      );
    if (best) {
      console.log(
        `   there: API p99 ${f1(best.apiP99)} ms (${f1(best.apiP99 / pct(idle.api, 99))}× the no-stream baseline), lag p99 ${f1(best.lagP99)} ms (bare ws ${f1(pct(bareM.lag, 99))} ms), RSS ${best.rssMb.toFixed(0)} MB, ${((best.rssMb * 2 ** 20 - rss0) / best.users / 1024).toFixed(0)} KB per user`,
      );
    }
    console.log(`   bench time ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return results.some((r) => r.streams < r.users * 0.99) ? 1 : 0;
  } finally {
    for (const stop of stops) stop();
    for (const g of gens) await g.stop().catch(() => {});
    for (const c of bare.clients) c.terminate();
    bare.close();
    await lb?.close();
    for (const app of apps.reverse()) await app.close().catch(() => {});
  }
}

function passes(r: StepResult): boolean {
  return r.apiP99 <= TARGET_API_P99_MS && r.lagP99 <= TARGET_LAG_P99_MS && r.streams >= r.users * 0.99;
}

/** Starts the V8 profiler in this process; the returned function stops it and gives the profile. */
async function startProfile(): Promise<() => Promise<object>> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: object };
    session.disconnect();
    return profile;
  };
}

async function workspaceRow(t: TestApp, ownerId: string): Promise<string> {
  const { row } = await t.services.workspaces.createOrGet({
    id: crypto.randomUUID(),
    ownerId,
    repository: 'https://example.test/repo',
    name: 'repo',
    driver: 'local',
    cpu: 1,
    memoryBytes: 1024 ** 3,
    pids: 256,
  });
  return row.id;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
