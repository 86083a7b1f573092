// Small helpers for end-to-end tests against a running `rclaude serve` over real HTTP and
// WebSockets (test/workspaces/remoteDockerNode.test.ts): an admin token, handshake statuses, a
// terminal, a free port, and the cleanup of a test daemon's workspace containers.
import { createServer } from 'node:net';
import type Docker from 'dockerode';
import WebSocket from 'ws';

export function auth(token: string) {
  return { authorization: `Bearer ${token}` };
}

/** Every container and volume of a workspace installation on the test's own daemon. */
export async function removeInstallations(docker: Docker): Promise<void> {
  const filters = JSON.stringify({ label: ['remote-claude.installation'] });
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
    await docker.getVolume(v.Name).remove({ force: true });
  }
}

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function adminToken(url: string, admin: { email: string; password: string }): Promise<string> {
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admin),
  });
  const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
  const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
  const res = await fetch(`${url}/api/v1/tokens`, {
    method: 'POST',
    headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'remote-node-test' }),
  });
  return ((await res.json()) as { token: string }).token;
}

/** The HTTP status a node handshake gets (101 when it is let in). */
export function connectNode(url: string, joinToken: string, name: string): Promise<number> {
  return handshake(`${url.replace('http', 'ws')}/api/v1/nodes/connect?v=1`, {
    authorization: `Bearer ${joinToken}`,
    'x-rc-node': name,
  });
}

export function dialAgent(socket: string, agentToken: string, workspaceId: string): Promise<number> {
  return handshake(socket, { authorization: `Bearer ${agentToken}`, 'x-rc-workspace': workspaceId });
}

export function handshake(target: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, { headers });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', (err) => reject(err));
  });
}

export async function openTerminal(target: string, token: string) {
  const ws = new WebSocket(target, { headers: auth(token) });
  let text = '';
  ws.on('message', (data: Buffer, isBinary) => {
    text += isBinary ? data.toString('utf8') : `\n${data.toString('utf8')}\n`;
  });
  await new Promise((resolve, reject) => {
    ws.once('message', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    async waitFor(re: RegExp, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(text)) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${re}; got ${JSON.stringify(text.slice(-500))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
