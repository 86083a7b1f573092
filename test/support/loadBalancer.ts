// A real session router for the replica tests: Debian's HAProxy or nginx (both installed by
// test/setupHost.sh) on a loopback port, round-robin over the given backends with no stickiness,
// so every request and every WebSocket may land on any replica. WebSocket upgrades pass through
// (HAProxy switches the connection to tunnel mode; nginx forwards Upgrade/Connection over
// HTTP/1.1) and responses are not buffered, so SSE streams flow event by event. HAProxy
// health-checks backends on /readyz, so a dead or unready replica leaves the rotation within
// about two seconds; open-source nginx has passive checks only: a refused connection sends the
// request to the next backend and keeps the dead one out for `fail_timeout`.
// docs/operations.md shows both configurations; keep them in step with these.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoadBalancer {
  /** http://127.0.0.1:port */
  url: string;
  port: number;
  kind: LoadBalancerKind;
  /** What the load balancer printed so far (errors, backends going down). */
  output(): string;
  close(): Promise<void>;
}

export type LoadBalancerKind = 'haproxy' | 'nginx';

export interface Backend {
  name: string;
  /** host:port on loopback. */
  address: string;
}

/** A free loopback port (closed again at once; the caller binds it right after). */
export async function freePort(): Promise<number> {
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
    // One line per request on stderr (LoadBalancer.output()) as soon as the replica answered its
    // headers (logasap), so a test can tell which replica a live WebSocket or SSE stream is on.
    '  log stderr format raw local0 info',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    '  option logasap',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    // An upgraded WebSocket (and an SSE stream) may idle for long between frames.
    '  timeout tunnel 1h',
    '  option forwardfor',
    // A refused connection (a replica killed before its health check says so) is tried again on
    // another server rather than answered 503.
    '  retries 2',
    '  option redispatch 1',
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

/** nginx's configuration; `dir` holds its pid and temp files (nothing under /var). */
export function nginxConfig(port: number, backends: Backend[], dir: string): string {
  return [
    'daemon off;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    'error_log stderr warn;',
    'events { worker_connections 8000; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
    // Upgrade only when the client asks for it; otherwise keep-alive to the backend as usual.
    '  map $http_upgrade $connection_upgrade { default upgrade; "" ""; }',
    '  upstream replicas {',
    // Round-robin is nginx's default; no ip_hash, no sticky: any request may reach any replica.
    ...backends.map((b) => `    server ${b.address} max_fails=1 fail_timeout=2s;`),
    '  }',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    location / {',
    '      proxy_pass http://replicas;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Host $host;',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection $connection_upgrade;',
    '      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    // SSE and uploads stream through as they come.
    '      proxy_buffering off;',
    '      proxy_request_buffering off;',
    '      proxy_connect_timeout 2s;',
    // An upgraded WebSocket (and an SSE stream) may idle for long between frames.
    '      proxy_read_timeout 1h;',
    '      proxy_send_timeout 1h;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface RoutedRequest {
  /** The backend's name, as given to startLoadBalancer. */
  backend: string;
  /** The status the replica answered (101 for a WebSocket upgrade). */
  status: number;
  /** The path with its query. */
  path: string;
}

/**
 * The requests HAProxy routed whose path starts with `pathPrefix`, in order, from its request
 * log (`output`): which replica each went to. nginx logs none.
 */
export function routedTo(output: string, pathPrefix: string): RoutedRequest[] {
  const routed: RoutedRequest[] = [];
  for (const line of output.split('\n')) {
    // … replicas_in replicas/replicaA 0/0/0/1/+1 101 +0 … "GET /path?query HTTP/1.1"
    const m = / replicas\/(\S+) \S+ (\d{3}) .*"[A-Z]+ (\S+) HTTP\/[\d.]+"\s*$/.exec(line);
    if (m?.[1] && m[3]?.startsWith(pathPrefix))
      routed.push({ backend: m[1], status: Number(m[2]), path: m[3] });
  }
  return routed;
}

export async function startLoadBalancer(
  backends: Backend[],
  opts: {
    kind?: LoadBalancerKind;
    /** HAProxy's connections at once (default 8,000); at most ~9,900 under a 20,000-file limit. */
    maxconn?: number;
  } = {},
): Promise<LoadBalancer> {
  if (backends.length === 0) throw new Error('startLoadBalancer needs at least one backend');
  const kind = opts.kind ?? 'haproxy';
  const dir = mkdtempSync(join(tmpdir(), 'rc-lb-'));
  const port = await freePort();
  let output = '';
  let child: ChildProcess;
  if (kind === 'haproxy') {
    const config = join(dir, 'haproxy.cfg');
    writeFileSync(config, haproxyConfig(port, backends, '/readyz', opts.maxconn));
    // -db: stay in the foreground, so the process is ours to stop.
    child = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    const config = join(dir, 'nginx.conf');
    writeFileSync(config, nginxConfig(port, backends, dir));
    // `daemon off` keeps it in the foreground; -e: no attempt at the packaged /var/log path.
    child = spawn('/usr/sbin/nginx', ['-e', 'stderr', '-p', dir, '-c', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
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
        ? new Error(`${kind} is not installed; test/setupHost.sh installs it.`)
        : state;
    }
    if (state === 'exited') {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${kind} exited at start:\n${output}`);
    }
    if (state === 'up') break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`${kind} did not answer on 127.0.0.1:${port} within 10 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, port, kind, output: () => output, close };
}
