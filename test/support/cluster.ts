// TEST ONLY. Several real `rclaude serve` replicas (clusterReplica.ts processes) on one fresh
// PostgreSQL schema, behind a real load balancer (HAProxy or nginx, loadBalancer.ts), with the
// scripted model stub and a git server in this process. Workspaces run on the shared host agent
// driver, so their agents outlive any replica and dial the load balancer like Kubernetes agents
// would. Helpers kill -9 and restart replicas and say which replica holds an agent or the
// reconcile lock. Every wait is bounded; close() tears it all down, and a start first clears
// what a killed earlier run left (its processes, agents, schema and directory).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PasswordHasher } from '../../server/auth/passwords.js';
import { newApiToken } from '../../server/auth/secrets.js';
import { systemClock } from '../../server/clock.js';
import { openDb } from '../../server/store/db.js';
import { TokenStore } from '../../server/store/tokenStore.js';
import { UserStore } from '../../server/store/userStore.js';
import { claudeBinary } from './claudeBinary.js';
import { LISTENING, type ReplicaSpec } from './clusterReplica.js';
import { type GitHttpServer, startGitHttpServer } from './gitHttpServer.js';
import { freePort, type LoadBalancer, type LoadBalancerKind, startLoadBalancer } from './loadBalancer.js';
import { type ModelStub, type Scenario, startModelStub } from './modelStub.js';
import { isLivePid, SharedHostAgentDriver } from './sharedHostAgentDriver.js';
import { FAST_ARGON2, TEST_PASSWORD } from './testApp.js';
import { dropSchema, PG_URL, uniqueSchema } from './testDb.js';

/**
 * Compiled, so a replica starts in well under a second (test/globalSetup.ts builds dist/): beside
 * this file when it runs compiled itself (benchmarks), else under dist/ (vitest runs the sources).
 */
const REPLICA_ENTRY = import.meta.url.endsWith('.js')
  ? fileURLToPath(new URL('clusterReplica.js', import.meta.url))
  : fileURLToPath(new URL('../../dist/test/support/clusterReplica.js', import.meta.url));
/** Every cluster run has a directory here, named after the pid of the process that made it. */
export const RUNS_DIR = '/tmp/rc-cluster';
export const CLUSTER_API_KEY = 'sk-ant-org-cluster-test-0123456789';
const START_TIMEOUT_MS = 30_000;

export interface ClusterReplica {
  index: number;
  /** A, B, C… */
  name: string;
  port: number;
  /** http://127.0.0.1:port, this replica itself (not through the load balancer). */
  url: string;
  /** The running process, until killed. */
  pid(): number | undefined;
  /** Every line it printed, across restarts. */
  logs: string[];
}

export interface ClusterUser {
  id: string;
  email: string;
  /** `Bearer …` */
  auth: string;
  /** The token's id, to revoke it. */
  tokenId: string;
}

export interface Cluster {
  schema: string;
  lb: LoadBalancer;
  stub: ModelStub;
  git: GitHttpServer;
  driver: SharedHostAgentDriver;
  replicas: ClusterReplica[];
  admin: ClusterUser;
  /** A new member with an API token. */
  member(): Promise<ClusterUser>;
  /** A new API token for the user. */
  token(userId: string): Promise<{ auth: string; tokenId: string }>;
  /** `kill -9` of replica i; resolves once it is gone. */
  kill(i: number): Promise<void>;
  /** Starts replica i again on its port; resolves once it is ready (/readyz 200). */
  restart(i: number): Promise<void>;
  /** The index of the replica holding the workspace's agent connection (the agent_connections row). */
  holderOf(workspaceId: string): Promise<number | undefined>;
  /** Waits until some replica holds the workspace's agent (other than `not`), and returns it. */
  waitForHolder(workspaceId: string, opts?: { not?: number; timeoutMs?: number }): Promise<number>;
  /** The index of the replica holding the reconcile lock (a PostgreSQL advisory lock). */
  reconcileLeader(): Promise<number | undefined>;
  /** One SQL query on the cluster's schema. */
  query<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  /** The last lines of every replica's log and the load balancer's, for failure messages. */
  describe(lines?: number): string;
  close(): Promise<void>;
}

export interface ClusterOptions {
  replicas?: number;
  lb?: LoadBalancerKind;
  scenarios?: Record<string, Scenario>;
  /** More config flags for every replica. */
  flags?: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills what runs of an earlier cluster run whose test process is gone, and removes its schema. */
export async function clearLeftovers(): Promise<void> {
  if (!existsSync(RUNS_DIR)) return;
  for (const name of readdirSync(RUNS_DIR)) {
    const owner = Number(name.split('-')[0]);
    if (Number.isInteger(owner) && isLivePid(owner)) continue;
    const dir = join(RUNS_DIR, name);
    for (const file of ['replica-pids']) {
      const path = join(dir, file);
      if (!existsSync(path)) continue;
      for (const pid of readFileSync(path, 'utf8').split('\n').map(Number)) {
        if (pid > 0 && isLivePid(pid) && readCmdline(pid).includes('clusterReplica.js')) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    }
    await SharedHostAgentDriver.killAll(join(dir, 'boxes'));
    const schemaFile = join(dir, 'schema');
    if (existsSync(schemaFile)) await dropSchema(readFileSync(schemaFile, 'utf8').trim()).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** The pid of the process among `pids` that owns the local TCP socket on `port`. */
function socketOwner(port: number, pids: number[]): number | undefined {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local) continue;
      if (Number.parseInt(local.split(':')[1] ?? '', 16) === port && cols[9]) inodes.add(cols[9]);
    }
  }
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m?.[1] && inodes.has(m[1])) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  await clearLeftovers();
  const n = opts.replicas ?? 3;
  const dir = join(RUNS_DIR, `${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  const schema = uniqueSchema();
  writeFileSync(join(dir, 'schema'), schema);
  const boxes = join(dir, 'boxes');
  // Run in reverse order: the directory goes last, after the agents its pid files name are killed.
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    // Migrated once here: replicas starting together must not race on the migrations.
    const db = await openDb({ databaseUrl: PG_URL, schema, poolSize: 2 });
    cleanups.push(async () => {
      await db.close();
      await dropSchema(schema);
    });
    const hasher = new PasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
    const users = new UserStore(db, systemClock);
    const tokens = new TokenStore(db, systemClock);
    const token = async (userId: string) => {
      const { token: secret, prefix, hash } = newApiToken();
      const row = await tokens.create({
        userId,
        name: 'cluster test',
        tokenHash: hash,
        prefix,
        expiresAt: null,
      });
      return { auth: `Bearer ${secret}`, tokenId: row.id };
    };
    let counter = 0;
    const user = async (role: 'admin' | 'member'): Promise<ClusterUser> => {
      counter += 1;
      const email = `${role}-${counter}-${randomBytes(3).toString('hex')}@example.test`;
      const row = await users.create({
        email,
        name: `${role} ${counter}`,
        role,
        passwordHash: await hasher.hash(TEST_PASSWORD),
      });
      return { id: row.id, email, ...(await token(row.id)) };
    };
    const admin = await user('admin');

    const stub = await startModelStub({ expectedApiKey: CLUSTER_API_KEY, scenarios: opts.scenarios ?? {} });
    cleanups.push(() => stub.close());
    const git = await startGitHttpServer({
      repos: {
        app: { 'README.md': '# app\n' },
        other: { 'README.md': '# other\n' },
        third: { 'README.md': '# third\n' },
      },
    });
    cleanups.push(() => git.close());

    const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
    const names = ports.map((_, i) => String.fromCharCode(65 + i));
    const lb = await startLoadBalancer(
      ports.map((port, i) => ({ name: `replica${names[i]}`, address: `127.0.0.1:${port}` })),
      { kind: opts.lb ?? 'haproxy' },
    );
    cleanups.push(() => lb.close());
    const driver = new SharedHostAgentDriver({ root: boxes });
    cleanups.push(() => SharedHostAgentDriver.killAll(boxes));

    const secret = randomBytes(32).toString('base64');
    const children: (ChildProcess | undefined)[] = ports.map(() => undefined);
    const replicas: ClusterReplica[] = ports.map((port, i) => ({
      index: i,
      name: names[i] as string,
      port,
      url: `http://127.0.0.1:${port}`,
      pid: () => {
        const c = children[i];
        return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
      },
      logs: [],
    }));
    const pidsFile = join(dir, 'replica-pids');
    const spec = (i: number): ReplicaSpec => {
      const r = replicas[i] as ClusterReplica;
      const data = join(dir, `replica${r.name}`);
      mkdirSync(data, { recursive: true });
      return {
        boxes,
        claudePath: claudeBinary(),
        flags: {
          dataDir: data,
          'log.level': 'info',
          'log.format': 'json',
          'database.url': PG_URL,
          'database.schema': schema,
          'database.poolSize': 4,
          'server.host': '127.0.0.1',
          'server.port': r.port,
          'server.replicaUrl': r.url,
          'server.publicUrl': lb.url,
          'server.agentUrl': `${lb.url.replace(/^http/, 'ws')}/api/v1/agent`,
          'server.clusterSecret': secret,
          'server.replicaHeartbeat': 1,
          'gateway.upstream': stub.url,
          'claude.apiKey': CLUSTER_API_KEY,
          'egress.allow': [`127.0.0.1:${git.port}`],
          'workspaces.heartbeatIntervalMs': 500,
          'workspaces.startTimeout': 30,
          'workspaces.reconcileInterval': 2,
          ...FAST_ARGON2,
          ...opts.flags,
        },
      };
    };
    const launch = async (i: number): Promise<void> => {
      const r = replicas[i] as ClusterReplica;
      const child = spawn(process.execPath, [REPLICA_ENTRY], {
        env: {
          PATH: process.env.PATH,
          HOME: join(dir, `replica${r.name}`),
          RC_TEST_REPLICA: JSON.stringify(spec(i)),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children[i] = child;
      if (child.pid) writeFileSync(pidsFile, `${child.pid}\n`, { flag: 'a' });
      let listening = false;
      const take = (d: Buffer) => {
        for (const line of d.toString().split('\n')) {
          if (!line) continue;
          r.logs.push(line);
          if (line.includes(LISTENING)) listening = true;
        }
      };
      child.stdout?.on('data', take);
      child.stderr?.on('data', take);
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`replica ${r.name} exited at start:\n${r.logs.slice(-30).join('\n')}`);
        if (listening) {
          const ready = await fetch(`${r.url}/readyz`).then(
            (res) => res.status === 200,
            () => false,
          );
          if (ready) return;
        }
        if (Date.now() > deadline)
          throw new Error(`replica ${r.name} was not ready within 30 s:\n${r.logs.slice(-30).join('\n')}`);
        await sleep(100);
      }
    };
    const kill = async (i: number): Promise<void> => {
      const child = children[i];
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    };
    cleanups.push(async () => {
      // A clean stop for the living (they deregister), bounded; then anything left is killed.
      await Promise.all(
        children.map(async (child) => {
          if (!child || child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }),
      );
    });
    /**
     * Until the load balancer sends traffic to a replica that just came up: HAProxy's next
     * health check (every 500 ms, one success brings it back), nginx's fail_timeout (2 s).
     */
    const settle = async () => {
      await sleep(lb.kind === 'haproxy' ? 1_200 : 2_100);
      const deadline = Date.now() + 10_000;
      while (
        !(await fetch(`${lb.url}/readyz`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error(`the load balancer sends no traffic:\n${lb.output()}`);
        await sleep(100);
      }
    };
    await Promise.all(replicas.map((_, i) => launch(i)));
    await settle();

    const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await client.connect();
    cleanups.push(() => client.end());
    const query = async <T extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
      (await client.query<T>(text, values)).rows;
    const byAddress = (address: string | undefined) => replicas.findIndex((r) => r.url === address);

    const cluster: Cluster = {
      schema,
      lb,
      stub,
      git,
      driver,
      replicas,
      admin,
      member: () => user('member'),
      token,
      kill,
      async restart(i) {
        await launch(i);
        await settle();
      },
      async holderOf(workspaceId) {
        const rows = await query<{ address: string }>(
          'select r.address from agent_connections c join replicas r on r.id = c.replica_id where c.workspace_id = $1',
          [workspaceId],
        );
        const i = byAddress(rows[0]?.address);
        return i >= 0 && replicas[i]?.pid() !== undefined ? i : undefined;
      },
      async waitForHolder(workspaceId, o = {}) {
        const deadline = Date.now() + (o.timeoutMs ?? 20_000);
        for (;;) {
          const i = await cluster.holderOf(workspaceId);
          if (i !== undefined && i !== o.not) return i;
          if (Date.now() > deadline)
            throw new Error(
              `no replica${o.not === undefined ? '' : ' but the killed one'} holds the agent of ${workspaceId}`,
            );
          await sleep(50);
        }
      },
      async reconcileLeader() {
        // pg_try_advisory_lock(bigint) keeps the key's high half in classid and the low one in objid.
        const [k] = await query<{ key: string }>(
          `select hashtextextended($1 || '/' || 'reconcile', 0)::text as key`,
          [schema],
        );
        const key = BigInt.asUintN(64, BigInt(k?.key ?? '0'));
        const held = await query<{ classid: string; objid: string; client_port: number }>(
          `select l.classid::text, l.objid::text, a.client_port from pg_locks l
             join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted and a.application_name = 'rclaude-leader'`,
        );
        const row = held.find(
          (h) => (BigInt(h.classid) << 32n) + BigInt(h.objid) === key && h.client_port > 0,
        );
        if (!row) return undefined;
        const pids = replicas.map((r) => r.pid()).filter((p): p is number => p !== undefined);
        const owner = socketOwner(row.client_port, pids);
        const i = replicas.findIndex((r) => r.pid() === owner);
        return owner === undefined || i < 0 ? undefined : i;
      },
      query,
      describe(lines = 25) {
        return [
          ...replicas.map((r) => `--- replica ${r.name} (${r.url}) ---\n${r.logs.slice(-lines).join('\n')}`),
          `--- ${lb.kind} ---\n${lb.output().split('\n').slice(-lines).join('\n')}`,
        ].join('\n');
      },
      close: cleanup,
    };
    return cluster;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
