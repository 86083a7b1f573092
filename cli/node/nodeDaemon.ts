// `rclaude node`: the per-host daemon of a Docker host on another machine (sdk/nodeProtocol.ts).
// It dials the control plane (no inbound port on this host), lets the control plane's docker
// driver reach the local Docker socket over that connection, serves each workspace's agent socket
// and relays the agents to the control plane, and reports the host. It redials with backoff,
// to whichever replica the URL reaches; the workspaces keep running meanwhile.
import { once } from 'node:events';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { MAX_AGENT_FRAME_BYTES } from '../../sdk/agentProtocol.js';
import {
  NODE_CONNECT_PATH,
  NODE_NAME_HEADER,
  NODE_PROTOCOL_VERSION,
  NODE_REFUSED_CLOSE,
  NODE_REPORT_INTERVAL_MS,
  type NodeReport,
  serverToNode,
} from '../../sdk/nodeProtocol.js';
import { opError, type RpcHandler, RpcPeer } from '../../sdk/rpcPeer.js';
import { AgentSocketRelay, type RelayLog } from './agentSocketRelay.js';
import type { NodeCgroupOptions } from './nodeCgroup.js';
import { dockerClient, sampleNodeReport } from './nodeReporter.js';
import { lockRunDir } from './runDirLock.js';

export interface NodeDaemonOptions {
  /** The control plane's URL (http or https), as users reach it. */
  url: string;
  joinToken: string;
  name: string;
  dockerSocket: string;
  runDir: string;
  /** The parent cgroup of workspace containers to prepare on this host; unset: none. */
  cgroup?: NodeCgroupOptions;
  log: RelayLog;
}

const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 3000;

/**
 * The control plane refused the join token or the name, at the dial or later (a revoked token
 * closes the open connection with NODE_REFUSED_CLOSE): redialling would not help.
 */
export class NodeRefusedError extends Error {}

export class NodeDaemon {
  private readonly relay: AgentSocketRelay;
  private readonly docker;
  private ws: WebSocket | undefined;
  private stopped = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private finished: { resolve(): void; reject(e: Error): void } | undefined;
  private unlock: (() => Promise<void>) | undefined;
  private cgroupState: string | undefined;

  constructor(private readonly o: NodeDaemonOptions) {
    this.relay = new AgentSocketRelay(o.runDir, endpoint(o.url, '/api/v1/agent'), o.log);
    this.docker = dockerClient(o.dockerSocket);
  }

  /** Runs until `stop()` (resolves) or a refusal of the join token (rejects with NodeRefusedError). */
  async run(): Promise<void> {
    this.unlock = await lockRunDir(this.o.runDir);
    const restored = await this.relay.restore();
    this.o.log('node.starting', { name: this.o.name, restoredWorkspaces: restored.length });
    const done = new Promise<void>((resolve, reject) => {
      this.finished = { resolve, reject };
    });
    this.dial();
    return done;
  }

  /** Stops dialling, closes the sockets (their directories stay for the next run) and resolves `run`. */
  async stop(error?: Error): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retry);
    this.ws?.close(1001, 'node stopping');
    await this.relay.close();
    await this.unlock?.();
    if (error) this.finished?.reject(error);
    else this.finished?.resolve();
  }

  private dial(): void {
    const url = new URL(endpoint(this.o.url, NODE_CONNECT_PATH));
    url.searchParams.set('v', String(NODE_PROTOCOL_VERSION));
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.o.joinToken}`, [NODE_NAME_HEADER]: this.o.name },
      maxPayload: MAX_AGENT_FRAME_BYTES,
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    let refused: { status: number; body: string } | undefined;
    let failure: string | undefined;
    let opened = false;
    let stopReports = () => {};
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        refused = { status: res.statusCode ?? 0, body };
        ws.terminate();
      });
    });
    ws.on('error', (err) => {
      failure ??= (err as NodeJS.ErrnoException).code ?? err.message;
    });
    ws.once('open', () => {
      opened = true;
      this.attempt = 0;
      stopReports = this.onOpen(ws);
    });
    ws.once('close', (code, reason) => {
      stopReports();
      if (this.stopped) return;
      if (refused && [401, 403, 426].includes(refused.status)) {
        const message = messageOf(refused.body) ?? `HTTP ${refused.status}`;
        this.o.log('node.refused', { status: refused.status, message });
        void this.stop(new NodeRefusedError(`The control plane refused this node: ${message}`));
        return;
      }
      if (opened && code === NODE_REFUSED_CLOSE) {
        const message = reason.toString('utf8') || 'The join token no longer admits this node.';
        this.o.log('node.refused', { code, message });
        void this.stop(new NodeRefusedError(`The control plane disconnected this node: ${message}`));
        return;
      }
      const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** this.attempt);
      this.attempt = Math.min(this.attempt + 1, 10);
      const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      if (opened) this.o.log('node.disconnected', { code, retryInMs: delay });
      else
        this.o.log('node.connect_failed', {
          error: refused ? `HTTP ${refused.status}` : failure,
          retryInMs: delay,
        });
      this.retry = setTimeout(() => this.dial(), delay);
    });
  }

  private onOpen(ws: WebSocket): () => void {
    const handlers: Record<string, RpcHandler> = {};
    const peer = new RpcPeer(ws, {
      parity: 'odd',
      handlers,
      onProtocolError: (message) => this.o.log('node.protocol_error', { message }),
    });
    Object.assign(handlers, this.handlers(peer));
    this.o.log('node.connected', { url: this.o.url });
    const report = () =>
      void sampleNodeReport(this.docker, this.o.cgroup).then((r) => {
        this.noteCgroup(r.cgroupParent);
        peer.notify('node.report', r);
      });
    report();
    const timer = setInterval(report, NODE_REPORT_INTERVAL_MS);
    // A dead network path shows no close for minutes; a missing pong reveals it.
    let heard = Date.now();
    ws.on('pong', () => {
      heard = Date.now();
    });
    ws.on('message', () => {
      heard = Date.now();
    });
    const pinger = setInterval(() => {
      if (Date.now() - heard > 30_000) ws.terminate();
      else ws.ping();
    }, 10_000);
    return () => {
      clearInterval(timer);
      clearInterval(pinger);
    };
  }

  /** Logs the parent cgroup's state when it changes (prepared, or why not), not every report. */
  private noteCgroup(state: NodeReport['cgroupParent']): void {
    const text = JSON.stringify(state ?? null);
    if (text === this.cgroupState) return;
    this.cgroupState = text;
    if (state) this.o.log('node.cgroup_parent', state);
  }

  private handlers(peer: RpcPeer): Record<string, RpcHandler> {
    return {
      'docker.open': {
        params: serverToNode['docker.open'].params,
        handle: async (p: { channel: number }) => {
          const channel = peer.channel(p.channel);
          const sock = connect(this.o.dockerSocket);
          try {
            await once(sock, 'connect');
          } catch (err) {
            channel.destroy();
            throw opError('internal', `the node's Docker socket does not answer: ${(err as Error).message}`);
          }
          sock.on('error', () => channel.destroy());
          channel.on('error', () => sock.destroy());
          sock.on('close', () => channel.destroy());
          channel.on('close', () => sock.destroy());
          sock.pipe(channel);
          channel.pipe(sock);
          return {};
        },
      },
      'workspace.listen': {
        params: serverToNode['workspace.listen'].params,
        handle: async (p: { workspaceId: string }) => ({ socketDir: await this.relay.listen(p.workspaceId) }),
      },
      'workspace.unlisten': {
        params: serverToNode['workspace.unlisten'].params,
        handle: async (p: { workspaceId: string }) => {
          await this.relay.unlisten(p.workspaceId);
          return {};
        },
      },
    };
  }
}

/** `http(s)://host[/prefix]` + path as a ws(s) URL. */
function endpoint(base: string, path: string): string {
  const url = new URL(`${base.replace(/\/+$/, '')}${path}`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function messageOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { message?: string } }).error?.message;
  } catch {
    return body.trim() || undefined;
  }
}
