// A real control-plane app on a real store (SQLite or PostgreSQL) for route tests, driven with
// app.inject() — or listening on a loopback port when a test needs real HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import type { OrgRole } from '../../sdk/wire.js';
import { newApiToken } from '../../server/auth/secrets.js';
import { ManualClock } from '../../server/clock.js';
import type { Config } from '../../server/config/configSchema.js';
import { loadConfig } from '../../server/config/loadConfig.js';
import { type App, type AppOptions, buildApp } from '../../server/http/app.js';
import { READINESS_STEPS } from '../../server/readiness.js';
import { createServices, type ServiceOptions, type Services } from '../../server/services.js';
import type { UserRow } from '../../server/store/userStore.js';
import { type Engine, openSharedTestDb, openTestDb } from './testDb.js';

/**
 * Test workspaces' cgroup parent. test/globalSetup.ts gives each run its own, so the sweep at the
 * end of one run never kills the boxes of another run going on at the same time.
 */
export const TEST_CGROUP_PARENT = process.env.RC_TEST_CGROUP_PARENT ?? 'rc-test';

export const TEST_PASSWORD = 'correct horse battery staple';

/** Cheap argon2id parameters: still argon2id, but fast enough for hundreds of logins. */
export const FAST_ARGON2 = { 'auth.argon2.memoryCost': 1024, 'auth.argon2.timeCost': 1 };

export interface TestApp {
  app: App;
  services: Services;
  clock: ManualClock;
  config: Config;
  /** The PostgreSQL schema of its store (postgres engine only). */
  schema?: string;
  /** A user with this role (and TEST_PASSWORD). */
  user(role: OrgRole, email?: string): Promise<UserRow>;
  /** An API token for `user`, as the Authorization header value. */
  bearer(user: UserRow): Promise<string>;
  /** Sign `user` in with a password: the Cookie header and CSRF token of the new session. */
  login(user: UserRow): Promise<{ cookie: string; csrf: string }>;
  close(): Promise<void>;
}

let counter = 0;

export async function createTestApp(
  engine: Engine,
  opts: {
    flags?: Record<string, unknown>;
    appOptions?: AppOptions;
    services?: ServiceOptions;
    /**
     * Another replica of this app's installation: open the same PostgreSQL store (its schema).
     * Close it before `sameStoreAs`, whose close drops the schema.
     */
    sameStoreAs?: TestApp;
  } = {},
): Promise<TestApp> {
  if (opts.sameStoreAs && (engine !== 'postgres' || !opts.sameStoreAs.schema))
    throw new Error('replicas share a store on PostgreSQL only (SQLite mode is one process)');
  // A short data dir: agent sockets live under it and unix socket paths are limited to 107 bytes.
  const dataDir = mkdtempSync('/tmp/rc-t-');
  const config = loadConfig({
    env: {},
    flags: {
      'log.level': 'silent',
      dataDir,
      // Test workspaces get their own cgroup parent, which the global teardown sweeps.
      'runtime.local.cgroupParent': TEST_CGROUP_PARENT,
      'runtime.docker.cgroupParent': TEST_CGROUP_PARENT,
      ...FAST_ARGON2,
      ...opts.flags,
    },
  });
  const shared = opts.sameStoreAs?.schema;
  const testDb = shared ? await openSharedTestDb(shared) : await openTestDb(engine);
  const clock = new ManualClock(new Date());
  const services = createServices(config, testDb.db, clock, opts.services);
  await services.pubsub.start();
  // A test app is started as far as readiness goes: its store is open, and each test makes the
  // users and workspaces it needs (serve.ts marks these steps for a real server).
  for (const step of READINESS_STEPS) services.readiness.mark(step);
  const app = await buildApp(services, { logStream: null, ...opts.appOptions });

  const t: TestApp = {
    app,
    services,
    clock,
    config,
    ...(testDb.schema ? { schema: testDb.schema } : {}),
    async user(role, email) {
      counter += 1;
      return services.users.create({
        email: email ?? `${role}-${counter}-${Date.now()}@example.test`,
        name: `${role} ${counter}`,
        role,
        passwordHash: await services.hasher.hash(TEST_PASSWORD),
      });
    },
    async bearer(user) {
      const { token, prefix, hash } = newApiToken();
      await services.tokens.create({
        userId: user.id,
        name: 'test',
        tokenHash: hash,
        prefix,
        expiresAt: null,
      });
      return `Bearer ${token}`;
    },
    async login(user) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: user.email, password: TEST_PASSWORD },
      });
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
      const cookie = res.cookies.find((c) => c.name === 'rc_session');
      if (!cookie) throw new Error('no session cookie');
      return { cookie: `rc_session=${cookie.value}`, csrf: (res.json() as { csrfToken: string }).csrfToken };
    },
    async close() {
      await app.close();
      await testDb.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}
