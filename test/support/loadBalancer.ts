// A real session router for the replica tests: Debian's HAProxy (installed by test/setupHost.sh)
// on a loopback port, round-robin over the given backends with no stickiness, so every request
// and every WebSocket may land on any replica. WebSocket upgrades pass through (HAProxy switches
// the connection to tunnel mode); backends are health-checked on /readyz, so a dead replica
// leaves the rotation within about two seconds.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoadBalancer {
  /** http://127.0.0.1:port */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface Backend {
  name: string;
  /** host:port on loopback. */
  address: string;
}

/** A free loopback port (closed again at once; HAProxy binds it right after). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no loopback port');
  return address.port;
}

export function haproxyConfig(
  port: number,
  backends: Backend[],
  healthPath = '/readyz',
  maxconn = 8000,
): string {
  return [
    'global',
    // Two descriptors per proxied connection; this machine's hard limit is 20,000 files.
    `  maxconn ${maxconn}`,
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    // An upgraded WebSocket (and an SSE stream) may idle for long between frames.
    '  timeout tunnel 1h',
    '  option forwardfor',
    'frontend replicas_in',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    `  option httpchk GET ${healthPath}`,
    '  http-check expect status 200',
    ...backends.map((b) => `  server ${b.name} ${b.address} check inter 500ms fall 2 rise 1`),
    '',
  ].join('\n');
}

export async function startLoadBalancer(
  backends: Backend[],
  opts: {
    /** Connections at once (default 8,000); at most ~9,900 under a 20,000-file limit. */ maxconn?: number;
  } = {},
): Promise<LoadBalancer> {
  if (backends.length === 0) throw new Error('startLoadBalancer needs at least one backend');
  const dir = mkdtempSync(join(tmpdir(), 'rc-lb-'));
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig(port, backends, '/readyz', opts.maxconn));
  let output = '';
  // -db: stay in the foreground, so the process is ours to stop.
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const close = async () => {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const state = await Promise.race([
      spawnError,
      exited.then(() => 'exited' as const),
      fetch(`http://127.0.0.1:${port}/`).then(
        () => 'up' as const,
        () => 'down' as const,
      ),
    ]);
    if (state instanceof Error) {
      rmSync(dir, { recursive: true, force: true });
      throw (state as NodeJS.ErrnoException).code === 'ENOENT'
        ? new Error('haproxy is not installed; test/setupHost.sh installs it.')
        : state;
    }
    if (state === 'exited') {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`haproxy exited at start:\n${output}`);
    }
    if (state === 'up') break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`haproxy did not answer on 127.0.0.1:${port} within 10 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, port, close };
}
