// Helpers for tests that run real workspaces: a control plane on the local driver (or, with
// `runtime.driver: 'docker'`, on the Docker daemon with the locally built workspace image), a git
// server it may clone from, and small API wrappers.
import { randomBytes } from 'node:crypto';
import type { Workspace } from '../../sdk/workspaceWire.js';
import type { ServiceOptions } from '../../server/services.js';
import type { UserRow } from '../../server/store/userStore.js';
import { type GitHttpServer, startGitHttpServer } from './gitHttpServer.js';
import { createTestApp, type TestApp } from './testApp.js';
import type { Engine } from './testDb.js';
import { ensureWorkspaceImage } from './workspaceImage.js';

export interface WorkspaceKit {
  t: TestApp;
  git: GitHttpServer;
  owner: UserRow;
  auth: string;
  /** Repository URL of the test repo `name` (app, other, …). */
  repo(name: string): string;
  create(repository: string, auth?: string): Promise<Workspace>;
  /** Polls until the workspace leaves starting/stopping/pending. */
  settle(id: string, auth?: string, timeoutMs?: number): Promise<Workspace>;
  /** Runs argv in the workspace through its agent. */
  exec(
    id: string,
    argv: string[],
    timeoutMs?: number,
  ): Promise<{
    exitCode: number | null;
    stdout: string;
    stderr: string;
    signal: string | null;
    timedOut: boolean;
  }>;
  removeAll(): Promise<void>;
  close(): Promise<void>;
}

export const TEST_REPOS = {
  app: { 'README.md': '# app\n', 'src/index.js': 'console.log("hi")\n' },
  other: { 'README.md': '# other\n' },
};

/**
 * What the driver-parameterised suites run on: the local driver, Docker with its default runtime
 * (runc), and Docker with gVisor (runsc, registered with the test daemons by test/setupHost.sh and
 * support/dockerDaemons.ts).
 */
export const RUNTIMES = [
  { name: 'local driver', driver: 'local', runsc: false, flags: { 'runtime.driver': 'local' } },
  { name: 'docker driver', driver: 'docker', runsc: false, flags: { 'runtime.driver': 'docker' } },
  {
    name: 'docker driver, runsc',
    driver: 'docker',
    runsc: true,
    flags: { 'runtime.driver': 'docker', 'runtime.docker.runtime': 'runsc' },
  },
] as const;

export async function startWorkspaceKit(
  opts: { engine?: Engine; flags?: Record<string, unknown>; services?: ServiceOptions } = {},
): Promise<WorkspaceKit> {
  const git = await startGitHttpServer({ repos: TEST_REPOS });
  const t = await createTestApp(opts.engine ?? 'sqlite', {
    flags: {
      'egress.allow': [`127.0.0.1:${git.port}`],
      'workspaces.heartbeatIntervalMs': 500,
      'workspaces.startTimeout': 20,
      ...(opts.flags?.['runtime.driver'] === 'docker' ? await dockerFlags() : {}),
      ...opts.flags,
    },
    services: opts.services,
  });
  const owner = await t.user('member');
  const auth = await t.bearer(owner);
  const api = async (method: 'GET' | 'POST' | 'DELETE', url: string, who: string, payload?: unknown) => {
    const res = await t.app.inject({
      method,
      url,
      headers: { authorization: who },
      ...(payload ? { payload } : {}),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body}`);
    return res.statusCode === 204 ? undefined : res.json();
  };
  const kit: WorkspaceKit = {
    t,
    git,
    owner,
    auth,
    repo: (name) => git.url(name),
    create: (repository, who = auth) => api('POST', '/api/v1/workspaces', who, { repository }),
    async settle(id, who = auth, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ws = (await api('GET', `/api/v1/workspaces/${id}`, who)) as Workspace;
        if (!['pending', 'starting', 'stopping'].includes(ws.status) || Date.now() > deadline) return ws;
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async exec(id, argv, timeoutMs = 20_000) {
      const conn = t.services.runtime.hub.connection(id);
      if (!conn) throw new Error(`workspace ${id} has no agent connected`);
      return conn.peer.request('exec', { argv, timeoutMs }, { timeoutMs: timeoutMs + 5000 });
    },
    async removeAll() {
      for (const row of await t.services.workspaces.list()) {
        await t.services.runtime.service.remove(row.id, { keepVolume: false });
      }
    },
    async close() {
      await kit.removeAll();
      await t.close();
      await git.close();
    },
  };
  return kit;
}

/**
 * The docker driver's settings for a test kit: the test image, and an installation of its own, so
 * the reconcile loops of kits running at the same time on the same daemon never take each other's
 * containers for orphans.
 */
export async function dockerFlags(): Promise<Record<string, unknown>> {
  return {
    'runtime.docker.image': await ensureWorkspaceImage(),
    // Prefixed with the run's id (test/globalSetup.ts) so the run's final sweep finds them.
    'runtime.docker.installation': `${process.env.RC_TEST_RUN_ID ?? 't'}x${randomBytes(4).toString('hex')}`,
  };
}
