// A checkout and a data dir inside a directory other users cannot traverse (mode 0700, as
// `mktemp -d` makes and as /root is): real local workspaces and a real task with the claude CLI
// must work from there, and a host that cannot run boxes must stop the server before it listens
// with a sentence naming the path and the fix.
import { chmod, copyFile, cp, link, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../sdk/taskWire.js';
import { loadConfig } from '../../server/config/loadConfig.js';
import { LocalDriver, type LocalDriverConfig } from '../../server/drivers/local/localDriver.js';
import { startServer } from '../../server/serve.js';
import { defaultAgentDir } from '../../server/workspaces/workspaceRuntime.js';
import { claudeBinary } from '../support/claudeBinary.js';
import { ensureBuilt } from '../support/ensureBuilt.js';
import { type ModelStub, startModelStub } from '../support/modelStub.js';
import { finished, taskApi } from '../support/taskApi.js';
import { TEST_CGROUP_PARENT } from '../support/testApp.js';
import { startWorkspaceKit, type WorkspaceKit } from '../support/workspaceKit.js';

const ORG_KEY = 'sk-ant-org-test-key-0123456789';

/**
 * A hard link where possible (the claude binary is ~380 MB), a copy across file systems. Never
 * change the mode of what this places: it is the host's own file.
 */
async function place(src: string, dst: string): Promise<void> {
  await mkdir(join(dst, '..'), { recursive: true, mode: 0o755 });
  await link(src, dst).catch(() => copyFile(src, dst));
}

describe('a checkout and a data dir inside a 0700 directory', () => {
  let hidden: string;
  let assets: Pick<LocalDriverConfig, 'nodePath' | 'agentDir' | 'claudePath'>;
  let k: WorkspaceKit;
  let stub: ModelStub;
  const driverConfig = (extra: Partial<LocalDriverConfig> = {}): LocalDriverConfig => ({
    dataDir: join(hidden, 'data'),
    ...assets,
    cgroupParent: TEST_CGROUP_PARENT,
    ...extra,
  });

  beforeAll(async () => {
    await ensureBuilt();
    // Short: agent sockets live under the data dir and unix socket paths are limited to 107 bytes.
    hidden = await mkdtemp('/tmp/rc-p-');
    const checkout = join(hidden, 'rc');
    assets = {
      agentDir: join(checkout, 'dist', 'agent'),
      nodePath: join(checkout, 'node'),
      claudePath: join(checkout, 'node_modules', '@anthropic-ai', 'claude-code', 'bin', 'claude.exe'),
    };
    await cp(defaultAgentDir(), assets.agentDir, { recursive: true });
    await place(process.execPath, assets.nodePath);
    await place(claudeBinary(), assets.claudePath as string);
    stub = await startModelStub({
      expectedApiKey: ORG_KEY,
      scenarios: {
        hello: {
          turns: [
            {
              content: [
                {
                  type: 'tool_use',
                  name: 'Write',
                  input: { file_path: '/workspace/hello.txt', content: 'hello from behind 0700\n' },
                },
              ],
            },
            { content: [{ type: 'text', text: 'Written.' }] },
          ],
        },
      },
    });
    k = await startWorkspaceKit({
      flags: { dataDir: join(hidden, 'data'), 'gateway.upstream': stub.url, 'claude.apiKey': ORG_KEY },
      services: { driver: new LocalDriver(driverConfig()) },
    });
  }, 120_000);

  afterAll(async () => {
    await k?.close();
    await stub?.close();
    if (hidden) await rm(hidden, { recursive: true, force: true });
  });

  it('really is out of reach for other users', async () => {
    expect((await stat(hidden)).mode & 0o777).toBe(0o700);
    // The data dir is as private as its parent: nothing in it needs to be traversable.
    await k.t.services.runtime.preflight();
    expect((await stat(join(hidden, 'data', 'workspaces'))).mode & 0o777).toBe(0o700);
  });

  it('runs a workspace from the agent bundle, node and claude in there, with its volumes in there', async () => {
    const ws = await k.create(k.repo('app'));
    expect((await k.settle(ws.id)).status).toBe('running');
    const out = await k.exec(ws.id, ['/bin/sh', '-c', 'id -u; cat README.md; claude --version']);
    expect(out.exitCode, out.stderr).toBe(0);
    const [uid, readme, version] = out.stdout.trim().split('\n');
    expect(Number(uid)).toBeGreaterThan(0);
    expect(readme).toBe('# app');
    expect(version).toMatch(/^\d+\.\d+\.\d+ \(Claude Code\)$/);
    const volume = await stat(join(hidden, 'data', 'workspaces', ws.id, 'workspace', 'README.md'));
    expect(volume.uid).toBe(Number(uid));
  });

  it('runs a task with the claude CLI against the model stub', async () => {
    const { api, until } = taskApi(k.t, k.auth);
    const task = await api<Task>('POST', '/api/v1/tasks', {
      repository: k.repo('app'),
      prompt: '[scenario:hello] write a file',
      permissionMode: 'acceptEdits',
    });
    const done = await until(task.id, finished, 90_000);
    expect(done, done.statusReason ?? '').toMatchObject({ status: 'succeeded' });
    const file = await k.t.app.inject({
      url: `/api/v1/workspaces/${task.workspaceId}/files/hello.txt`,
      headers: { authorization: k.auth },
    });
    expect(file.body).toBe('hello from behind 0700\n');
  });

  it('refuses, naming the file and the chmod, assets a checkout made with umask 077 would have', async () => {
    const copy = join(hidden, 'umask077');
    await cp(assets.agentDir, join(copy, 'agent'), { recursive: true });
    await chmod(join(copy, 'agent', 'agent.js'), 0o600);
    await expect(
      new LocalDriver(driverConfig({ agentDir: join(copy, 'agent') })).preflight(),
    ).rejects.toThrow(
      `Workspace users cannot read ${join(copy, 'agent', 'agent.js')} (mode 600), part of the agent bundle ` +
        `every local workspace runs. Run \`chmod -R a+rX ${join(copy, 'agent')}\` (files made under umask 077 ` +
        'are readable by their owner only).',
    );
    // A file of its own: a mode change on a hard link would change the host's node binary too.
    await writeFile(join(copy, 'node'), '#!/bin/sh\n', { mode: 0o700 });
    await expect(new LocalDriver(driverConfig({ nodePath: join(copy, 'node') })).preflight()).rejects.toThrow(
      `Workspace users cannot run ${join(copy, 'node')} (mode 700), the node binary bound as ` +
        `/opt/remote-claude/bin/node. Run \`chmod a+rx ${join(copy, 'node')}\``,
    );
    await expect(
      new LocalDriver(driverConfig({ agentDir: join(copy, 'missing') })).preflight(),
    ).rejects.toThrow(`The agent bundle ${join(copy, 'missing')} is missing`);
  });

  it('stops the server before it listens when the host cannot run boxes', async () => {
    const config = loadConfig({
      env: {},
      flags: {
        'log.level': 'silent',
        dataDir: join(hidden, 'refused'),
        'server.port': 0,
        'runtime.local.bwrapPath': '/nonexistent/bwrap',
      },
    });
    const printed: string[] = [];
    await expect(startServer(config, { print: (l) => printed.push(l) })).rejects.toMatchObject({
      reason: 'unavailable',
      userMessage:
        'The local runtime needs /nonexistent/bwrap, which is missing. Install it (apt-get install ' +
        'bubblewrap) or set runtime.local.bwrapPath, or set RC_RUNTIME=docker.',
    });
    expect(printed.join('\n')).not.toContain('listening');
  });

  it('stops the server before it listens when agent sockets under the data dir would be too long', async () => {
    const dataDir = join(hidden, 'd'.repeat(60));
    const config = loadConfig({ env: {}, flags: { 'log.level': 'silent', dataDir, 'server.port': 0 } });
    const socketBytes = `${dataDir}/run/${'x'.repeat(36)}/agent.sock`.length;
    await expect(startServer(config, { print: () => undefined })).rejects.toThrow(
      `Agent sockets under RC_DATA_DIR ${dataDir} would be ${socketBytes} bytes long, over the 107 a unix ` +
        'socket path may have. Set RC_DATA_DIR to a shorter path, e.g. /var/lib/remote-claude.',
    );
  });
});

// Docker is not affected: the daemon, as root, resolves the bind source of the agent socket dir,
// and the container sees only the directory itself (0755, its socket 0666). This proves it.
describe('the docker driver with a data dir inside a 0700 directory', () => {
  let hidden: string;
  let k: WorkspaceKit;
  beforeAll(async () => {
    hidden = await mkdtemp('/tmp/rc-p-');
    k = await startWorkspaceKit({ flags: { 'runtime.driver': 'docker', dataDir: join(hidden, 'data') } });
  }, 300_000);
  afterAll(async () => {
    await k?.close();
    if (hidden) await rm(hidden, { recursive: true, force: true });
  });

  it('runs a workspace whose agent dials the socket bound from there', async () => {
    expect((await stat(hidden)).mode & 0o777).toBe(0o700);
    const ws = await k.create(k.repo('app'));
    expect((await k.settle(ws.id, k.auth, 60_000)).status).toBe('running');
    const out = await k.exec(ws.id, ['cat', 'README.md']);
    expect(out.stdout).toBe('# app\n');
  });
});
