// Server side of workspace terminals. The PTY lives in the agent (it survives the browser and the
// control plane); here each terminal keeps a mirror of its last 1 MiB of output, so a new viewer
// redraws the screen, and fans the live output out to every viewer. A terminal nobody watches or
// types into for `idleTimeoutMs` is closed.
import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import { notifications, TERMINAL_BUFFER_BYTES } from '../../sdk/agentProtocol.js';
import { RingBuffer } from '../../sdk/ringBuffer.js';
import type { PeerChannel } from '../../sdk/rpcPeer.js';
import type { TerminalServerMessage } from '../../sdk/workspaceWire.js';
import type { CancelTimer, Clock } from '../clock.js';
import type { AgentConnection, AgentHub } from './agentHub.js';

interface Terminal {
  id: string;
  workspaceId: string;
  channel: PeerChannel;
  ring: RingBuffer;
  viewers: Set<WebSocket>;
  cols: number;
  rows: number;
  createdAt: string;
  lastActivity: number;
  /** Set once a sweep has begun closing it, so later sweeps do not ask the agent again. */
  reaping?: true;
}

export interface TerminalHubOptions {
  hub: AgentHub;
  idleTimeoutMs: number;
  /** Activity times and the idle sweep run on this clock. */
  clock: Clock;
}

export class TerminalHub {
  private readonly terminals = new Map<string, Terminal>();
  private readonly stopSweeper: CancelTimer;

  constructor(private readonly o: TerminalHubOptions) {
    const { hub, idleTimeoutMs, clock } = o;
    hub.on('connected', (conn) => void this.reattach(conn));
    hub.on('disconnected', (id) => this.detachAll(id, 1012, 'the workspace agent reconnects; attach again'));
    hub.on('notification', (id, method, params) => {
      if (method !== 'pty.exit') return;
      const p = notifications['pty.exit'].safeParse(params);
      if (p.success) this.exited(id, p.data.terminalId, p.data.exitCode, p.data.signal);
    });
    this.stopSweeper = clock.every(Math.min(60_000, Math.max(1000, idleTimeoutMs / 4)), () => this.sweep());
  }

  list(workspaceId: string) {
    return [...this.terminals.values()]
      .filter((t) => t.workspaceId === workspaceId)
      .map((t) => ({
        id: t.id,
        cols: t.cols,
        rows: t.rows,
        viewers: t.viewers.size,
        createdAt: t.createdAt,
      }));
  }

  has(workspaceId: string, terminalId: string): boolean {
    return this.terminals.get(terminalId)?.workspaceId === workspaceId;
  }

  async open(conn: AgentConnection, size: { cols: number; rows: number }): Promise<string> {
    const id = randomBytes(9).toString('base64url');
    const channel = conn.peer.openChannel();
    this.track(conn.workspaceId, id, channel, size);
    try {
      await conn.peer.request('pty.open', { terminalId: id, channel: channel.id, ...size });
    } catch (err) {
      this.terminals.delete(id);
      channel.destroy();
      throw err;
    }
    return id;
  }

  /** Adds a viewer: it gets the buffered screen, then live output; its bytes become input. */
  attach(terminalId: string, ws: WebSocket): void {
    const t = this.terminals.get(terminalId);
    if (!t) throw new Error('no such terminal');
    t.viewers.add(ws);
    t.lastActivity = this.now();
    const screen = t.ring.snapshot();
    // The length says which frame is the replay, so a client attaching again can skip what it has.
    send(ws, { type: 'ready', terminalId, cols: t.cols, rows: t.rows, replayBytes: screen.length });
    if (screen.length > 0) ws.send(screen, { binary: true });
    ws.on('close', () => {
      t.viewers.delete(ws);
      t.lastActivity = this.now();
    });
  }

  input(terminalId: string, data: Buffer): void {
    const t = this.terminals.get(terminalId);
    if (!t) return;
    t.lastActivity = this.now();
    t.channel.write(data);
  }

  async resize(
    conn: AgentConnection,
    terminalId: string,
    size: { cols: number; rows: number },
  ): Promise<void> {
    const t = this.terminals.get(terminalId);
    if (!t) return;
    await conn.peer.request('pty.resize', { terminalId, ...size });
    t.cols = size.cols;
    t.rows = size.rows;
  }

  async close(conn: AgentConnection | undefined, terminalId: string): Promise<void> {
    const t = this.terminals.get(terminalId);
    if (!t) return;
    // Cannot matter: the agent is gone or the PTY already ended; a PTY that still lives comes
    // back through pty.list when its agent reconnects, and can be closed then.
    await conn?.peer.request('pty.close', { terminalId }).catch(() => {});
    this.exited(t.workspaceId, terminalId, null, null);
  }

  stop(): void {
    this.stopSweeper();
  }

  private track(
    workspaceId: string,
    id: string,
    channel: PeerChannel,
    size: { cols: number; rows: number },
  ): Terminal {
    const t: Terminal = {
      id,
      workspaceId,
      channel,
      ring: new RingBuffer(TERMINAL_BUFFER_BYTES),
      viewers: new Set(),
      cols: size.cols,
      rows: size.rows,
      createdAt: this.o.clock.now().toISOString(),
      lastActivity: this.now(),
    };
    this.terminals.set(id, t);
    channel.on('data', (chunk: Buffer) => {
      t.ring.push(chunk);
      for (const v of t.viewers) v.send(chunk, { binary: true });
    });
    channel.on('error', () => {});
    return t;
  }

  /** After an agent (re)connects, bind every PTY it still has to a fresh channel. */
  private async reattach(conn: AgentConnection): Promise<void> {
    let listed: { terminals: { terminalId: string; cols: number; rows: number }[] };
    try {
      listed = await conn.peer.request('pty.list', {});
    } catch {
      // The agent went away again; its next connection runs this anew.
      return;
    }
    for (const p of listed.terminals) {
      const old = this.terminals.get(p.terminalId);
      const channel = conn.peer.openChannel();
      const t = this.track(conn.workspaceId, p.terminalId, channel, p);
      if (old) t.createdAt = old.createdAt;
      // The agent replays its own buffer on attach, which is the authoritative screen. A PTY
      // that ended between the listing and the attach is dropped, not kept as a dead terminal.
      await conn.peer
        .request('pty.attach', { terminalId: p.terminalId, channel: channel.id })
        .catch(() => this.exited(conn.workspaceId, p.terminalId, null, null));
    }
  }

  private detachAll(workspaceId: string, code: number, reason: string): void {
    for (const t of this.terminals.values()) {
      if (t.workspaceId !== workspaceId) continue;
      for (const v of t.viewers) v.close(code, reason);
      t.viewers.clear();
    }
  }

  private exited(
    workspaceId: string,
    terminalId: string,
    exitCode: number | null,
    signal: number | null,
  ): void {
    const t = this.terminals.get(terminalId);
    if (!t || t.workspaceId !== workspaceId) return;
    this.terminals.delete(terminalId);
    for (const v of t.viewers) {
      send(v, { type: 'exit', exitCode, signal });
      v.close(1000, 'terminal closed');
    }
    t.channel.destroy();
  }

  private now(): number {
    return this.o.clock.now().getTime();
  }

  private sweep(): void {
    const limit = this.now() - this.o.idleTimeoutMs;
    for (const t of this.terminals.values()) {
      if (t.viewers.size > 0 || t.lastActivity > limit || t.reaping) continue;
      t.reaping = true;
      const conn = this.o.hub.connection(t.workspaceId);
      void this.close(conn, t.id);
    }
  }
}

function send(ws: WebSocket, msg: TerminalServerMessage): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
}
