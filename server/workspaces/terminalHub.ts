// Server side of workspace terminals. The PTY lives in the agent (it survives the browser and the
// control plane); here each terminal keeps a mirror of its last 1 MiB of output, so a new viewer
// redraws the screen, and fans the live output out to every viewer. A terminal nobody watches or
// types into for `idleTimeoutMs` is closed.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
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
  /** The agent connection `channel` belongs to; its output ends with that connection. */
  conn: AgentConnection;
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
  /**
   * `viewers`: a viewer attached to or left a terminal of the workspace on this replica (the
   * lifecycle limits count it as activity). Per replica, like the terminals themselves.
   */
  readonly events = new EventEmitter<{ viewers: [workspaceId: string] }>();
  private readonly terminals = new Map<string, Terminal>();
  /**
   * Per workspace, the rebinding of its terminals to an agent connection that just came (see
   * `reattach`). Until it ends the entries still hold the old, dead connection's channels.
   */
  private readonly reattaching = new Map<string, Promise<void>>();
  private readonly stopSweeper: CancelTimer;

  constructor(private readonly o: TerminalHubOptions) {
    const { hub, idleTimeoutMs, clock } = o;
    hub.on('connected', (conn) => {
      const done = this.reattach(conn).finally(() => {
        if (this.reattaching.get(conn.workspaceId) === done) this.reattaching.delete(conn.workspaceId);
      });
      this.reattaching.set(conn.workspaceId, done);
    });
    hub.on('disconnected', (id) => this.detachAll(id, undefined));
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

  /** Workspaces with a terminal someone watches on this replica now. */
  attachedWorkspaces(): string[] {
    const ids = new Set<string>();
    for (const t of this.terminals.values()) if (t.viewers.size > 0) ids.add(t.workspaceId);
    return [...ids];
  }

  async open(conn: AgentConnection, size: { cols: number; rows: number }): Promise<string> {
    const id = randomBytes(9).toString('base64url');
    const channel = conn.peer.openChannel();
    this.track(conn, id, channel, size);
    try {
      await conn.peer.request('pty.open', { terminalId: id, channel: channel.id, ...size });
    } catch (err) {
      this.terminals.delete(id);
      channel.destroy();
      throw err;
    }
    return id;
  }

  /**
   * Adds a viewer: it gets the buffered screen, then live output; its bytes become input. False
   * when the workspace has no such terminal (any more).
   */
  async attach(workspaceId: string, terminalId: string, ws: WebSocket): Promise<boolean> {
    // While its agent's new connection is being bound, an entry is still the old connection's,
    // whose output and exit never come (a viewer added to it would wait forever), or, after a
    // control-plane restart, not there yet. Either way the answer is the new connection's.
    for (let p = this.reattaching.get(workspaceId); p; p = this.reattaching.get(workspaceId)) await p;
    const t = this.terminals.get(terminalId);
    if (t?.workspaceId !== workspaceId) return false;
    if (ws.readyState !== ws.OPEN) return true;
    if (this.o.hub.connection(t.workspaceId) !== t.conn) {
      // Its agent is gone (or its new connection could not list the PTYs): the viewers it had
      // were sent away with this, and one arriving late is too; it attaches again once it is back.
      ws.close(1012, RECONNECT_REASON);
      return true;
    }
    t.viewers.add(ws);
    t.lastActivity = this.now();
    this.events.emit('viewers', workspaceId);
    const screen = t.ring.snapshot();
    // The length says which frame is the replay, so a client attaching again can skip what it has.
    send(ws, { type: 'ready', terminalId, cols: t.cols, rows: t.rows, replayBytes: screen.length });
    if (screen.length > 0) ws.send(screen, { binary: true });
    ws.on('close', () => {
      t.viewers.delete(ws);
      t.lastActivity = this.now();
      this.events.emit('viewers', workspaceId);
    });
    return true;
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
    conn: AgentConnection,
    id: string,
    channel: PeerChannel,
    size: { cols: number; rows: number },
  ): Terminal {
    const t: Terminal = {
      id,
      workspaceId: conn.workspaceId,
      conn,
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
    // A connection replaced by this one without closing first sent no 'disconnected': its viewers
    // are sent away here, or they would stay on the entries that this replaces.
    this.detachAll(conn.workspaceId, conn);
    let listed: { terminals: { terminalId: string; cols: number; rows: number }[] };
    try {
      listed = await conn.peer.request('pty.list', {});
    } catch {
      // The agent went away again; its next connection runs this anew.
      return;
    }
    // A PTY that ended while its agent was away (or went with a restarted agent) is not listed:
    // its entry would be a terminal that never prints or exits again.
    const alive = new Set(listed.terminals.map((p) => p.terminalId));
    for (const t of [...this.terminals.values()])
      if (t.workspaceId === conn.workspaceId && t.conn !== conn && !alive.has(t.id))
        this.exited(t.workspaceId, t.id, null, null);
    const attaches = listed.terminals.map(async (p) => {
      const old = this.terminals.get(p.terminalId);
      // One opened on this connection while the listing was under way is bound already.
      if (old?.conn === conn) return;
      const channel = conn.peer.openChannel();
      const t = this.track(conn, p.terminalId, channel, p);
      if (old) t.createdAt = old.createdAt;
      // The agent replays its own buffer on attach, which is the authoritative screen. A PTY
      // that ended between the listing and the attach is dropped, not kept as a dead terminal.
      await conn.peer
        .request('pty.attach', { terminalId: p.terminalId, channel: channel.id })
        .catch(() => this.exited(conn.workspaceId, p.terminalId, null, null));
    });
    await Promise.all(attaches);
  }

  /** Sends away with 1012 ("attach again") the viewers of the workspace's terminals not on `keep`. */
  private detachAll(workspaceId: string, keep: AgentConnection | undefined): void {
    for (const t of this.terminals.values()) {
      if (t.workspaceId !== workspaceId || t.conn === keep) continue;
      for (const v of t.viewers) v.close(1012, RECONNECT_REASON);
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

const RECONNECT_REASON = 'the workspace agent reconnects; attach again';

function send(ws: WebSocket, msg: TerminalServerMessage): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
}
