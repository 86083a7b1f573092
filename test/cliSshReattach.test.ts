// `rclaude ws ssh` with piped input whose terminal connection drops with "reconnect" (1012) while
// the shell runs: the real CLI against a real control plane and a workspace on the local driver.
// The CLI attaches again to the same terminal (sshCommand.ts, runReattaching); the input it was
// given must all reach the shell, end of input included, so the command ends with the shell's code.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { ensureBuilt } from './support/ensureBuilt.js';
import { spawnRclaude } from './support/rclaude.js';
import { startTcpProxy, type TcpProxy } from './support/tcpProxy.js';
import { startWorkspaceKit, type WorkspaceKit } from './support/workspaceKit.js';

describe('rclaude ws ssh attaching again after a reconnect', () => {
  let k: WorkspaceKit;
  let proxy: TcpProxy;
  let home: string;
  let env: Record<string, string>;
  let id: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'rclaude-ssh-reattach-'));
    await ensureBuilt();
    k = await startWorkspaceKit();
    const url = await k.t.app.listen({ port: 0, host: '127.0.0.1' });
    env = { RC_URL: url, RC_TOKEN: k.auth.slice('Bearer '.length) };
    proxy = await startTcpProxy(new URL(url));
    const w = await k.settle((await k.create(k.repo('app'))).id);
    expect(w.status).toBe('running');
    id = w.id;
  }, 90_000);
  afterAll(async () => {
    await proxy?.close();
    await k?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('input that ended before the agent reconnected still ends the shell, with its code', async () => {
    const hub = k.t.services.runtime.hub;
    // Resolves once the server got a Ctrl-D from a terminal client: the CLI saw its input end.
    const eot = new Promise<void>((resolve) => {
      const onConnection = (socket: WebSocket, req: IncomingMessage) => {
        if (!req.url?.startsWith(`/api/v1/workspaces/${id}/terminals`)) return;
        socket.on('message', (data: Buffer, isBinary: boolean) => {
          if (!isBinary || !data.includes(4)) return;
          k.t.app.websocketServer.off('connection', onConnection);
          resolve();
        });
      };
      k.t.app.websocketServer.on('connection', onConnection);
    });
    const ssh = spawnRclaude(home, ['ws', 'ssh', id.slice(0, 8)], { env });
    ssh.child.stdin.write('echo sleeping-$((1+1)); sleep 3; (exit 7)\n');
    await expect.poll(() => ssh.output().stdout, { timeout: 10_000 }).toMatch(/^sleeping-2\s*$/m);
    // The input ends while the shell runs `sleep`, so the Ctrl-D typed for it reaches a terminal in
    // cooked mode, where the shell never reads it as end of input (it reads a NUL later).
    ssh.child.stdin.end();
    await eot;
    // As when the agent's connection breaks: the server closes the terminal's viewers with 1012
    // and the agent dials again; the CLI attaches again to the shell, still in its `sleep`.
    const gone = once(hub, 'disconnected');
    hub.connection(id)?.peer.ws.terminate();
    await gone;
    const r = await ssh.exited;
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(7);
  });

  it('input read while the connection was closing reaches the shell on the next attach', async () => {
    const ssh = spawnRclaude(home, ['ws', 'ssh', id.slice(0, 8)], { env: { ...env, RC_URL: proxy.url } });
    ssh.child.stdin.write('echo before-$((1+1))\n');
    await expect.poll(() => ssh.output().stdout, { timeout: 10_000 }).toMatch(/^before-2\s*$/m);
    const closing = proxy.closeTerminalSlowly();
    await closing.answered;
    // The CLI has the close frame and answered it; its socket says CLOSING until the connection
    // ends, and anything sent on it now is dropped without an error (ws's sendAfterClose). There
    // is nothing to observe when the CLI has read its input, so it is given a moment to; should
    // it be slower, the input waits in the pipe for the next attach and the test passes anyway.
    ssh.child.stdin.end('echo during-$((3+4)); exit 6\n');
    await delay(300);
    closing.end();
    const r = await ssh.exited;
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^during-7\s*$/m);
    expect(r.code).toBe(6);
  });
});
