// `npm run bench:api`: the throughput of an authenticated list endpoint of the real `rclaude serve`
// (SQLite, bearer token, 21 users) against a bare Fastify hello route, measured in one run on one
// machine, one after the other. Target: at least 40 % of bare Fastify's req/s, p99 at most 20 ms.
// Exits 1 when a request failed or a target was missed.
//
//   npm run bench:api [-- --duration 10] [--connections 50] [--cpu-prof <dir>]
//
// Both servers listen on 127.0.0.1 only. The "CPU µs/req" column is the server process's own CPU
// time per answered request: on a shared machine it moves far less than req/s does, so compare it
// when judging a change to the server.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { type ChildServer, startChildServer } from './childServer.js';

const TARGET_RATIO = 0.4;
const TARGET_P99_MS = 20;
const SEED_USERS = 20;
const ADMIN_EMAIL = 'bench-admin@example.test';
const ADMIN_PASSWORD = 'bench password that is long enough';

interface Options {
  duration: number;
  connections: number;
  warmup: number;
  /** Folder for a V8 CPU profile of `rclaude serve`, written when it stops. */
  cpuProf: string | undefined;
}

interface Measurement {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Server CPU time per request: steadier than req/s when other work shares the machine. */
  cpuMicrosPerReq: number | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      'cpu-prof': { type: 'string' },
    },
  });
  const int = (name: string, value: string, min: number, max: number): number => {
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= min && n <= max)) throw new Error(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const duration = int('duration', values.duration, 1, 300);
  return {
    duration,
    connections: int('connections', values.connections, 1, 1_000),
    warmup: Math.min(3, duration),
    cpuProf: values['cpu-prof'],
  };
}

/** The package root: the nearest folder above this file whose package.json is ours (works from dist/ too). */
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (
      existsSync(file) &&
      (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'remote-claude'
    )
      return dir;
  }
  throw new Error('cannot find the remote-claude package root');
}

/** The parent's environment without anything that would point the server at another store or config. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('RC_') && k !== 'DATABASE_URL' && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, ...extra };
}

async function api(url: string, init: RequestInit & { expect: number }): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const body = await res.text();
  if (res.status !== init.expect) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${body}`);
  return body ? JSON.parse(body) : undefined;
}

/** Sign in as the bootstrap admin, make an API token with the session, and add users with the token. */
async function seed(base: string): Promise<string> {
  const json = { 'content-type': 'application/json' };
  const loginRes = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    signal: AbortSignal.timeout(15_000),
  });
  if (loginRes.status !== 200) throw new Error(`login: ${loginRes.status} ${await loginRes.text()}`);
  const { csrfToken } = (await loginRes.json()) as { csrfToken: string };
  const cookie = loginRes.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c?.startsWith('rc_session='));
  if (!cookie) throw new Error('login: no rc_session cookie');
  const created = (await api(`${base}/api/v1/tokens`, {
    method: 'POST',
    headers: { ...json, cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ name: 'bench', expiresInDays: 1 }),
    expect: 201,
  })) as { token: string };
  const authorization = `Bearer ${created.token}`;
  for (let i = 1; i <= SEED_USERS; i++) {
    // With passwords, as real users have: their hashes are part of every row the list reads.
    const user = {
      email: `user${i}@example.test`,
      name: `Bench User ${i}`,
      role: 'member',
      password: ADMIN_PASSWORD,
    };
    await api(`${base}/api/v1/users`, {
      method: 'POST',
      headers: { ...json, authorization },
      body: JSON.stringify(user),
      expect: 201,
    });
  }
  const list = (await api(`${base}/api/v1/users`, { headers: { authorization }, expect: 200 })) as {
    items: unknown[];
  };
  if (list.items.length !== SEED_USERS + 1)
    throw new Error(`expected ${SEED_USERS + 1} users, got ${list.items.length}`);
  return authorization;
}

async function load(url: string, opts: Options, seconds: number, headers: Record<string, string>) {
  return autocannon({ url, connections: opts.connections, duration: seconds, headers });
}

async function measure(name: string, server: ChildServer, path: string, opts: Options, headers = {}) {
  const url = `${server.url}${path}`;
  process.stderr.write(
    `${name}: warm-up ${opts.warmup} s, then ${opts.duration} s at ${opts.connections} connections\n`,
  );
  await load(url, opts, opts.warmup, headers);
  const cpuBefore = server.cpuSeconds();
  const r = await load(url, opts, opts.duration, headers);
  const cpuAfter = server.cpuSeconds();
  return {
    name,
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    cpuMicrosPerReq:
      cpuBefore === undefined || cpuAfter === undefined || r.requests.total === 0
        ? undefined
        : ((cpuAfter - cpuBefore) * 1e6) / r.requests.total,
  } satisfies Measurement;
}

function report(rows: Measurement[], ratio: number, p99: number): boolean {
  const cell = (v: string | number, w: number) => String(v).padStart(w);
  const out = [
    `${'target'.padEnd(26)}${cell('req/s', 10)}${cell('p50 ms', 9)}${cell('p99 ms', 9)}${cell('errors', 8)}${cell('non-2xx', 9)}${cell('CPU µs/req', 12)}`,
    ...rows.map(
      (r) =>
        `${r.name.padEnd(26)}${cell(r.reqPerSec.toFixed(0), 10)}${cell(r.p50, 9)}${cell(r.p99, 9)}${cell(r.errors, 8)}${cell(r.non2xx, 9)}${cell(r.cpuMicrosPerReq?.toFixed(0) ?? '-', 12)}`,
    ),
  ];
  const clean = rows.every((r) => r.errors === 0 && r.non2xx === 0);
  const ratioOk = ratio >= TARGET_RATIO;
  const p99Ok = p99 <= TARGET_P99_MS;
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
  out.push(
    '',
    `throughput ratio: ${(ratio * 100).toFixed(1)} % of bare Fastify (target >= ${TARGET_RATIO * 100} %: ${mark(ratioOk)})`,
    `API p99: ${p99} ms (target <= ${TARGET_P99_MS} ms: ${mark(p99Ok)})`,
    `every request answered 2xx: ${clean ? 'yes' : 'NO'}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return clean && ratioOk && p99Ok;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const root = packageRoot();
  const dataDir = mkdtempSync(join(tmpdir(), 'rc-bench-'));
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  // Also on the deadline below and on Ctrl-C, which end the process without reaching `finally`.
  process.once('exit', removeDataDir);
  // Bounded in time whatever hangs: two warm-ups, two measurements, start-up and seeding.
  const deadline = setTimeout(
    () => {
      process.stderr.write('bench: took too long; stopping\n');
      process.exit(1);
    },
    (2 * (opts.warmup + opts.duration) + 120) * 1000,
  );
  deadline.unref();
  const servers: ChildServer[] = [];
  try {
    const common = { cwd: root, timeoutMs: 30_000 };
    const bare = await startChildServer('bare Fastify', [join(root, 'dist/bench/api/bareFastify.js')], {
      ...common,
      env: cleanEnv({}),
      readyLine: /listening on (http:\/\/\S+)/,
    });
    servers.push(bare);
    const rc = await startChildServer(
      'rclaude serve',
      [
        ...(opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : []),
        join(root, 'bin/rclaude.js'),
        'serve',
      ],
      {
        ...common,
        // Printed after the first administrator exists, so signing in cannot race its creation.
        readyLine: /Open (http:\/\/\S+) to sign in/,
        env: cleanEnv({
          RC_DATA_DIR: dataDir,
          RC_HOST: '127.0.0.1',
          RC_PORT: '0',
          RC_LOG_LEVEL: 'warn',
          RC_ADMIN_EMAIL: ADMIN_EMAIL,
          RC_ADMIN_PASSWORD: ADMIN_PASSWORD,
        }),
      },
    );
    servers.push(rc);
    const authorization = await seed(rc.url);

    const bareRun = await measure('bare Fastify GET /', bare, '/', opts);
    const apiRun = await measure('rclaude GET /api/v1/users', rc, '/api/v1/users', opts, {
      authorization,
    });
    return report([bareRun, apiRun], apiRun.reqPerSec / bareRun.reqPerSec, apiRun.p99) ? 0 : 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    removeDataDir();
    clearTimeout(deadline);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
