// The node daemon's agent sockets: one per workspace on this host, `<runDir>/<id>/agent.sock`,
// in a directory the docker driver binds into the workspace container (which has no network).
// Each agent WebSocket that arrives on it is relayed, frame for frame, to the control plane's
// network endpoint `/api/v1/agent` on a WebSocket of its own. The agent's own token and the
// workspace id of the socket go along: the control plane authenticates the workspace end to end,
// and the node holds no secret of it.
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { AGENT_SOCKET_NAME, MAX_AGENT_FRAME_BYTES } from '../../sdk/agentProtocol.js';

const WORKSPACE_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Longest unix socket path Linux accepts. */
const MAX_SOCKET_PATH = 107;
/** Pause the sending side while this much waits on the receiving one. */
const HIGH_WATER = 4 * 1024 * 1024;

export type RelayLog = (event: string, fields?: Record<string, unknown>) => void;

export class AgentSocketRelay {
  private readonly servers = new Map<string, Server>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_FRAME_BYTES });
  private readonly live = new Set<WebSocket>();

  constructor(
    private readonly runDir: string,
    /** `ws://host:port/api/v1/agent` or `wss://…`: where agents are relayed to. */
    private readonly agentUrl: string,
    private readonly log: RelayLog,
  ) {}

  /** Listens again on every workspace directory a previous run of the daemon left. */
  async restore(): Promise<string[]> {
    await mkdir(this.runDir, { recursive: true, mode: 0o755 });
    const entries = await readdir(this.runDir, { withFileTypes: true });
    const ids = entries.filter((e) => e.isDirectory() && WORKSPACE_ID.test(e.name)).map((e) => e.name);
    for (const id of ids) await this.listen(id);
    return ids;
  }

  /** Listens on the workspace's socket (idempotent); returns the directory to bind. */
  async listen(workspaceId: string): Promise<string> {
    if (!WORKSPACE_ID.test(workspaceId)) throw new Error(`bad workspace id ${JSON.stringify(workspaceId)}`);
    const dir = join(this.runDir, workspaceId);
    if (this.servers.has(workspaceId)) return dir;
    const path = join(dir, AGENT_SOCKET_NAME);
    if (path.length > MAX_SOCKET_PATH) {
      throw new Error(
        `the agent socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter --run-dir`,
      );
    }
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await rm(path, { force: true });
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade to a WebSocket\n');
    });
    server.on('upgrade', (req, socket, head) => this.relay(workspaceId, req, socket, head));
    this.servers.set(workspaceId, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The container's uid differs from ours; the directory, bound into that container only, guards it.
    await chmod(path, 0o666);
    return dir;
  }

  async unlisten(workspaceId: string): Promise<void> {
    if (!WORKSPACE_ID.test(workspaceId)) return;
    const server = this.servers.get(workspaceId);
    this.servers.delete(workspaceId);
    if (server) await new Promise<void>((r) => server.close(() => r()));
    await rm(join(this.runDir, workspaceId), { recursive: true, force: true });
  }

  /** Stops listening and drops every relayed connection; the directories stay for the next run. */
  async close(): Promise<void> {
    for (const ws of this.live) ws.terminate();
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.clear();
    this.wss.close();
  }

  private relay(workspaceId: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const version = new URL(req.url ?? '/', 'http://agent').searchParams.get('v') ?? '';
    const url = new URL(this.agentUrl);
    url.searchParams.set('v', version);
    const headers: Record<string, string> = {
      // The socket says which workspace this is: an agent cannot speak for another one here.
      'x-rc-workspace': workspaceId,
    };
    if (typeof req.headers.authorization === 'string') headers.authorization = req.headers.authorization;
    const upstream = new WebSocket(url, {
      headers,
      maxPayload: MAX_AGENT_FRAME_BYTES,
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    let answered = false;
    const refuse = (status: number, body: string) => {
      if (answered) return;
      answered = true;
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${body}\n`,
      );
    };
    // The control plane's refusal (401 wrong token, 426 version) reaches the agent as it was.
    upstream.once('unexpected-response', (_r, res) => {
      res.resume();
      refuse(res.statusCode ?? 502, `the control plane answered ${res.statusCode}`);
      upstream.terminate();
      this.log('node.agent_refused', { workspaceId, status: res.statusCode });
    });
    upstream.once('error', (err) => {
      refuse(502, 'the control plane could not be reached');
      if (!answered) this.log('node.agent_upstream_failed', { workspaceId, error: err.message });
    });
    socket.once('close', () => {
      if (!answered) upstream.terminate();
    });
    upstream.once('open', () => {
      if (answered) {
        upstream.close(1001, 'agent went away');
        return;
      }
      answered = true;
      this.wss.handleUpgrade(req, socket, head, (agent) => this.pipe(workspaceId, agent, upstream));
    });
  }

  private pipe(workspaceId: string, agent: WebSocket, upstream: WebSocket): void {
    this.live.add(agent);
    this.live.add(upstream);
    forward(agent, upstream);
    forward(upstream, agent);
    // Pings are answered where they arrive; a dead path to the control plane shows as no pong.
    let heard = Date.now();
    upstream.on('pong', () => {
      heard = Date.now();
    });
    const timer = setInterval(() => {
      if (Date.now() - heard > 45_000) upstream.terminate();
      else if (upstream.readyState === WebSocket.OPEN) upstream.ping();
    }, 15_000);
    const done = () => {
      clearInterval(timer);
      this.live.delete(agent);
      this.live.delete(upstream);
    };
    agent.once('close', done);
    upstream.once('close', done);
    this.log('node.agent_relayed', { workspaceId });
  }
}

/** Frames from `from` to `to`, text and binary kept apart; `from`'s close closes `to` alike. */
function forward(from: WebSocket, to: WebSocket): void {
  from.on('message', (data, isBinary) => {
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(data as Buffer, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < HIGH_WATER / 4) from.resume();
    });
    if (to.bufferedAmount > HIGH_WATER) from.pause();
  });
  from.on('close', (code, reason) => {
    if (to.readyState === WebSocket.OPEN || to.readyState === WebSocket.CONNECTING) {
      to.close(sendableCode(code), reason.subarray(0, 123));
    }
  });
  from.on('error', () => to.terminate());
}

/** A close code as it may be sent (RFC 6455 §7.4): 1005 "none" becomes 1000, 1006 "abnormal" 1011. */
function sendableCode(code: number): number {
  if (code === 1005) return 1000;
  const valid =
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1006) || (code >= 3000 && code <= 4999);
  return valid ? code : 1011;
}
