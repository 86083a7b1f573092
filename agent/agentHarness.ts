// Test support: runs the real, bundled agent as a child process against a stub control plane (a
// `ws` server on a unix socket, as local and Docker workspaces use). Used by agent/*.test.ts only.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { bundleAgent } from '../scripts/bundleAgent.mjs';
import { MAX_AGENT_FRAME_BYTES } from '../sdk/agentProtocol.js';
import { type PeerChannel, type RpcHandler, RpcPeer } from '../sdk/rpcPeer.js';

export const TEST_TOKEN = 'test-agent-token-0123456789abcdef';
export const TEST_WORKSPACE_ID = 'ws-test-1';

/** Bundles the agent into a fresh temp dir (each test file its own, as files run in parallel). */
export async function buildAgent(): Promise<{ entry: string; remove(): Promise<void> }> {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'rc-agent-bundle-'));
  const { entry } = await bundleAgent({ outDir });
  return { entry, remove: () => rm(outDir, { recursive: true, force: true }) };
}

/** Resolves with the first `event` whose args pass `accept`, or rejects after `timeoutMs`. */
export function waitForEvent<A extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  accept: (...args: A) => boolean,
  timeoutMs: number,
  what: string,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const onEvent = (...args: unknown[]) => {
      if (!accept(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(args as A);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}

/** One agent connection as the stub control plane sees it. */
export class TestConnection extends EventEmitter {
  readonly notifications: { method: string; params: unknown }[] = [];
  readonly closed: Promise<unknown>;
  readonly peer: RpcPeer;

  constructor(
    ws: import('ws').WebSocket,
    readonly request: IncomingMessage,
    handlers: (peer: RpcPeer) => Record<string, RpcHandler>,
  ) {
    super();
    const table: Record<string, RpcHandler> = {};
    this.peer = new RpcPeer(ws, {
      parity: 'even',
      handlers: table,
      onNotification: (method, params) => {
        this.notifications.push({ method, params });
        this.emit('notification', method, params);
      },
    });
    Object.assign(table, handlers(this.peer));
    this.closed = once(ws, 'close');
  }

  /** The next (or an already received) notification `method` whose params pass `accept`. */
  async notification<T = Record<string, unknown>>(
    method: string,
    accept: (params: T) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<T> {
    const seen = this.notifications.find((n) => n.method === method && accept(n.params as T));
    if (seen) return seen.params as T;
    const [, params] = await waitForEvent<[string, T]>(
      this,
      'notification',
      (m, p) => m === method && accept(p),
      timeoutMs,
      `notification ${method}`,
    );
    return params;
  }

  async readFile(
    rel: string,
    maxBytes = 64 * 1024 * 1024,
  ): Promise<{ size: number; etag?: string; bytes: Buffer }> {
    const ch = this.peer.openChannel();
    const bytes = readAll(ch);
    // Awaited below; this only keeps a failure before then from being an unhandled rejection.
    bytes.catch(() => {});
    const { size, etag } = await this.peer.request<{ size: number; etag?: string }>('files.read', {
      path: rel,
      channel: ch.id,
      maxBytes,
    });
    return { size, etag, bytes: await bytes };
  }

  async writeFile(
    rel: string,
    data: Buffer,
    maxBytes = 64 * 1024 * 1024,
    ifMatch?: '*' | string[],
  ): Promise<{ size: number; etag?: string }> {
    const ch = this.peer.openChannel();
    const answer = this.peer.request<{ size: number; etag?: string }>('files.write', {
      path: rel,
      channel: ch.id,
      maxBytes,
      ...(ifMatch ? { ifMatch } : {}),
    });
    ch.end(data);
    return answer;
  }
}

/** Collects a channel's bytes until it ends; rejects when it closes with an error. */
export function readAll(ch: PeerChannel): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    ch.on('data', (d: Buffer) => chunks.push(d));
    ch.once('end', () => resolve(Buffer.concat(chunks)));
    ch.once('error', reject);
  });
}

export interface ControlPlaneOptions {
  /** HTTP status to refuse an upgrade with, or undefined to accept it. */
  refuse?: (req: IncomingMessage) => number | undefined;
  /** Requests the agent may send (tunnel.open). */
  handlers?: (peer: RpcPeer) => Record<string, RpcHandler>;
}

/** A stand-in for the control plane's agent socket. */
export class ControlPlaneStub extends EventEmitter {
  readonly connections: TestConnection[] = [];
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_FRAME_BYTES });
  private readonly server: http.Server;

  private constructor(
    readonly socketPath: string,
    private readonly options: ControlPlaneOptions,
  ) {
    super();
    this.server = http.createServer((_req, res) => res.writeHead(404).end());
    this.server.on('upgrade', (req, socket, head) => {
      const status = this.options.refuse?.(req);
      if (status !== undefined) {
        socket.end(
          `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
        );
        this.emit('refused', status);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const conn = new TestConnection(ws, req, this.options.handlers ?? (() => ({})));
        this.connections.push(conn);
        this.emit('connection', conn);
      });
    });
  }

  static async start(dir: string, options: ControlPlaneOptions = {}): Promise<ControlPlaneStub> {
    const stub = new ControlPlaneStub(path.join(dir, 'agent.sock'), options);
    await new Promise<void>((resolve) => stub.server.listen(stub.socketPath, resolve));
    return stub;
  }

  get url(): string {
    return `ws+unix://${this.socketPath}:/agent`;
  }

  /** The `n`th connection (0-based) once it exists. */
  async connection(n = 0, timeoutMs = 10_000): Promise<TestConnection> {
    const existing = this.connections[n];
    if (existing) return existing;
    await waitForEvent(
      this,
      'connection',
      () => this.connections.length > n,
      timeoutMs,
      `agent connection #${n}`,
    );
    return this.connections[n] as TestConnection;
  }

  /** Stops listening and drops every connection; the agent then cannot reconnect. */
  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export interface TestAgentOptions extends ControlPlaneOptions {
  entry: string;
  env?: Record<string, string | undefined>;
}

/** The agent child process, its stub control plane, and temp workspace and home dirs. */
export class TestAgent extends EventEmitter {
  readonly logs: string[] = [];
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;

  private constructor(
    readonly child: ChildProcess,
    readonly controlPlane: ControlPlaneStub,
    readonly dir: string,
    readonly workspace: string,
    readonly home: string,
  ) {
    super();
    let partial = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.logs.push(line);
        this.emit('log', line);
      }
    });
    this.exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  }

  static async start(options: TestAgentOptions): Promise<TestAgent> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rc-agent-test-'));
    const workspace = path.join(dir, 'workspace');
    const home = path.join(dir, 'home');
    await Promise.all([mkdir(workspace), mkdir(home)]);
    const controlPlane = await ControlPlaneStub.start(dir, options);
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: home,
      LANG: 'C.UTF-8',
      RC_AGENT_URL: controlPlane.url,
      RC_AGENT_TOKEN: TEST_TOKEN,
      RC_WORKSPACE_ID: TEST_WORKSPACE_ID,
      RC_WORKSPACE_DIR: workspace,
      RC_AGENT_HEARTBEAT_MS: '200',
      RC_AGENT_FORWARDER_PORT: '0',
      ...options.env,
    };
    const child = spawn(process.execPath, [options.entry], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return new TestAgent(child, controlPlane, dir, workspace, home);
  }

  /** The next (or an already written) log line matching `pattern`. */
  async log(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.logs.find((l) => pattern.test(l));
    if (seen) return seen;
    const [line] = await waitForEvent<[string]>(
      this,
      'log',
      (l) => pattern.test(l),
      timeoutMs,
      `log ${pattern}`,
    );
    return line;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await this.exited;
    }
    // Teardown of a test harness: the directory removal below is what must happen.
    await this.controlPlane.close().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
