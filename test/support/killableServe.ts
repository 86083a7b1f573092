// A real `rclaude serve` (local driver, the real claude CLI, the scripted stub upstream, a git
// server with the test repositories) that a test can `kill -9` and boot again on the same data
// dir, with an admin API token that survives the restart. For the restart-safety tests.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalDriver } from '../../server/drivers/local/localDriver.js';
import { defaultAgentDir } from '../../server/workspaces/workspaceRuntime.js';
import { ensureBuilt } from './ensureBuilt.js';
import { type GitHttpServer, startGitHttpServer } from './gitHttpServer.js';
import { type ModelStub, type Scenario, startModelStub } from './modelStub.js';
import { type ServeChild, startServe } from './rclaude.js';
import { adminToken } from './serveHelpers.js';
import { TEST_CGROUP_PARENT } from './testApp.js';
import { TEST_REPOS } from './workspaceKit.js';

const PASSWORD = 'a password that is long enough';

export interface KillableServe {
  git: GitHttpServer;
  stub: ModelStub;
  /** The running server's URL (changes with each boot: the port is picked anew). */
  readonly url: string;
  /** An admin's API token. */
  readonly token: string;
  /** Calls the API as the admin; throws with the status and body unless 2xx. 204 gives undefined. */
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** `kill -9` of the server, then a boot on the same data dir; resolves once it listens. */
  killAndBoot(): Promise<void>;
  /** SIGTERM and the exit code (0: a clean shutdown). */
  stop(): Promise<number | null>;
  /** Stops the server, removes every box it left, the git server, the stub and the files. */
  close(): Promise<void>;
}

/** Polls `get` until `done` (real time: the server runs on the system clock). */
export async function poll<T>(get: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startKillableServe(o: {
  orgKey: string;
  scenarios: Record<string, Scenario>;
}): Promise<KillableServe> {
  await ensureBuilt();
  const home = mkdtempSync('/tmp/rc-ks-');
  const git = await startGitHttpServer({ repos: TEST_REPOS });
  const stub = await startModelStub({ expectedApiKey: o.orgKey, scenarios: o.scenarios });
  let serve: ServeChild | undefined;
  let url = '';
  let token = '';
  const boot = async () => {
    serve = startServe(home, [], {
      RC_DATA_DIR: join(home, 'data'),
      RC_PORT: '0',
      RC_ADMIN_EMAIL: 'admin@example.test',
      RC_ADMIN_PASSWORD: PASSWORD,
      RC_EGRESS_ALLOW: `127.0.0.1:${git.port}`,
      RC_ANTHROPIC_UPSTREAM: stub.url,
      ANTHROPIC_API_KEY: o.orgKey,
      RC_RUNTIME__LOCAL__CGROUP_PARENT: TEST_CGROUP_PARENT,
    });
    url = (await serve.until(/listening on (http:\/\/\S+)/))[1] as string;
  };
  const close = async () => {
    serve?.child.kill('SIGKILL');
    const d = new LocalDriver({
      dataDir: join(home, 'data'),
      nodePath: process.execPath,
      agentDir: defaultAgentDir(),
      cgroupParent: TEST_CGROUP_PARENT,
    });
    for (const ref of await d.list()) await d.remove(ref).catch(() => {});
    await git.close();
    await stub.close();
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await boot();
    await serve?.until(/Created the first administrator/);
    token = await adminToken(url, { email: 'admin@example.test', password: PASSWORD });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    git,
    stub,
    get url() {
      return url;
    },
    get token() {
      return token;
    },
    async api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
      return (res.status === 204 ? undefined : await res.json()) as T;
    },
    async killAndBoot() {
      const child = serve?.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
      await boot();
    },
    stop: async () => (await serve?.stop()) ?? null,
    close,
  };
}
