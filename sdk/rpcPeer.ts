// One end of the agent channel (sdk/agentProtocol.ts): JSON-RPC 2.0 over text frames and byte
// channels over binary frames, on a `ws` WebSocket. The control plane and the agent both use it.
import { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import type { z } from 'zod';
import {
  AgentErrorReason,
  CHANNEL_CHUNK_BYTES,
  decodeChannelFrame,
  encodeChannelFrame,
  notifications,
  RPC_APP_ERROR,
  RPC_INTERNAL_ERROR,
  RPC_INVALID_PARAMS,
  RPC_METHOD_NOT_FOUND,
  RpcMessage,
} from './agentProtocol.js';

/** An error answered over JSON-RPC. `reason` is set for application errors (RPC_APP_ERROR). */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason?: AgentErrorReason,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** Thrown by handlers for an expected failure; the peer sees `reason` and `message`. */
export function opError(reason: AgentErrorReason, message: string): RpcError {
  return new RpcError(RPC_APP_ERROR, message, reason);
}

export interface RpcHandler {
  params: z.ZodType;
  handle(params: never): Promise<unknown>;
}

export interface RpcPeerOptions {
  /** The server allocates even channel ids, the agent odd ones. */
  parity: 'even' | 'odd';
  /** Requests this side answers, by method name. */
  handlers?: Record<string, RpcHandler>;
  onNotification?: (method: string, params: unknown) => void;
  /** Called once when the peer broke the protocol; the connection is then closed. */
  onProtocolError?: (message: string) => void;
  requestTimeoutMs?: number;
}

/** Pause writers while this much is queued on the socket; resume below a quarter of it. */
const HIGH_WATER = 4 * 1024 * 1024;
/** A peer that opens more channels than this at once is broken or hostile. */
const MAX_OPEN_CHANNELS = 4096;

export class RpcPeer {
  private nextId = 1;
  private nextChannel: number;
  private readonly pending = new Map<
    number | string,
    { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout | undefined }
  >();
  private readonly channels = new Map<number, PeerChannel>();
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    private readonly options: RpcPeerOptions,
  ) {
    this.nextChannel = options.parity === 'even' ? 2 : 1;
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer | Buffer[], isBinary));
    ws.on('close', () => this.shutdown(new Error('the agent channel closed')));
    ws.on('error', () => this.shutdown(new Error('the agent channel failed')));
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Sends a request and resolves with its result; rejects with RpcError or on timeout/close. */
  request<T = unknown>(method: string, params: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new RpcError(RPC_INTERNAL_ERROR, 'the agent is not connected'));
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(
                new RpcError(RPC_APP_ERROR, `${method} did not answer within ${timeoutMs} ms`, 'timeout'),
              );
            }, timeoutMs)
          : undefined;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.sendJson({ jsonrpc: '2.0', id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    if (!this.closed) this.sendJson({ jsonrpc: '2.0', method, params });
  }

  /**
   * Runs `fn`, and what it sends on this peer leaves in one write instead of a system call per
   * message: the socket under the WebSocket is corked meanwhile. For bursts of small messages,
   * such as the acks of one stored batch of events. (`_socket` is `ws`'s own field; without it
   * the messages simply go one write each.)
   */
  corked(fn: () => void): void {
    const socket = (this.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    socket?.cork();
    try {
      fn();
    } finally {
      socket?.uncork();
    }
  }

  /** A new channel with an id from this side's range. */
  openChannel(): PeerChannel {
    const id = this.nextChannel;
    this.nextChannel += 2;
    if (this.nextChannel > 0xfffffff0) this.nextChannel = this.options.parity === 'even' ? 2 : 1;
    return this.channel(id);
  }

  /** The channel with this id, created if the peer named it first. */
  channel(id: number): PeerChannel {
    let ch = this.channels.get(id);
    if (!ch) {
      ch = new PeerChannel(this, id);
      this.channels.set(id, ch);
    }
    return ch;
  }

  close(code = 1000, reason = ''): void {
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
    this.shutdown(new Error('the agent channel closed'));
  }

  /** @internal used by PeerChannel */
  sendFrame(channel: number, payload: Uint8Array): void {
    if (!this.closed) this.ws.send(encodeChannelFrame(channel, payload), { binary: true });
  }

  /** @internal resolves when the socket's send queue is short enough to write more. */
  async drained(): Promise<void> {
    while (!this.closed && this.ws.bufferedAmount > HIGH_WATER) {
      await new Promise((r) => setTimeout(r, 2));
      if (this.ws.bufferedAmount <= HIGH_WATER / 4) return;
    }
  }

  /** @internal */
  forget(id: number): void {
    this.channels.delete(id);
  }

  private sendJson(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  private protocolError(message: string): void {
    if (this.closed) return;
    this.options.onProtocolError?.(message);
    this.close(1008, message.slice(0, 120));
  }

  private onFrame(data: Buffer | Buffer[], isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : data;
    if (isBinary) {
      const frame = decodeChannelFrame(buf);
      if (!frame) {
        this.protocolError('binary frame shorter than its channel id');
        return;
      }
      if (!this.channels.has(frame.channel) && this.channels.size >= MAX_OPEN_CHANNELS) {
        this.protocolError(`more than ${MAX_OPEN_CHANNELS} channels open`);
        return;
      }
      this.channel(frame.channel).deliver(frame.payload);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(buf.toString('utf8'));
    } catch {
      this.protocolError('text frame is not JSON');
      return;
    }
    const note = asNotification(parsed);
    if (note) {
      this.onNotify(note.method, note.params);
      return;
    }
    const msg = RpcMessage.safeParse(parsed);
    if (!msg.success) {
      this.protocolError('text frame is not a JSON-RPC 2.0 message');
      return;
    }
    const m = msg.data;
    if ('method' in m) {
      if ('id' in m) void this.answer(m.id, m.method, m.params);
      else this.onNotify(m.method, m.params);
      return;
    }
    if (m.id === null) return;
    const waiter = this.pending.get(m.id);
    if (!waiter) return;
    this.pending.delete(m.id);
    if (waiter.timer) clearTimeout(waiter.timer);
    if ('result' in m) waiter.resolve(m.result);
    else {
      const data = m.error.data as { reason?: unknown } | undefined;
      const reason = AgentErrorReason.safeParse(data?.reason);
      waiter.reject(new RpcError(m.error.code, m.error.message, reason.success ? reason.data : undefined));
    }
  }

  private onNotify(method: string, params: unknown): void {
    if (method === 'channel.close') {
      const p = notifications['channel.close'].safeParse(params);
      if (!p.success) {
        this.protocolError('channel.close with bad params');
        return;
      }
      this.channels.get(p.data.channel)?.remoteClosed(p.data.error);
      return;
    }
    this.options.onNotification?.(method, params);
  }

  private async answer(id: number | string, method: string, params: unknown): Promise<void> {
    const handler = this.options.handlers?.[method];
    if (!handler) {
      this.sendJson({
        jsonrpc: '2.0',
        id,
        error: { code: RPC_METHOD_NOT_FOUND, message: `no method ${method}` },
      });
      return;
    }
    const parsed = handler.params.safeParse(params ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'params';
      this.sendJson({
        jsonrpc: '2.0',
        id,
        error: { code: RPC_INVALID_PARAMS, message: `${where}: ${issue?.message ?? 'invalid'}` },
      });
      return;
    }
    try {
      const result = await handler.handle(parsed.data as never);
      if (!this.closed) this.sendJson({ jsonrpc: '2.0', id, result: result ?? {} });
    } catch (err) {
      if (this.closed) return;
      const e =
        err instanceof RpcError
          ? err
          : new RpcError(RPC_INTERNAL_ERROR, (err as Error).message ?? String(err));
      this.sendJson({
        jsonrpc: '2.0',
        id,
        error: { code: e.code, message: e.message, ...(e.reason ? { data: { reason: e.reason } } : {}) },
      });
    }
  }

  private shutdown(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, w] of this.pending) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(new RpcError(RPC_INTERNAL_ERROR, err.message));
      this.pending.delete(id);
    }
    for (const ch of [...this.channels.values()]) ch.destroy(err);
    this.channels.clear();
  }
}

/**
 * A byte stream multiplexed on the agent channel. Writing sends binary frames; `end()` sends
 * `channel.close`; the peer's `channel.close` ends the readable side (or destroys the stream with
 * the peer's error). Incoming bytes are not flow-controlled: the sender paces itself on the
 * socket's send queue.
 */
export class PeerChannel extends Duplex {
  private localEnded = false;
  private remoteEnded = false;

  constructor(
    private readonly peer: RpcPeer,
    readonly id: number,
  ) {
    super({ allowHalfOpen: true });
    // Whoever consumes the channel (a pipeline, a handler) listens for its errors; a channel
    // nobody consumed yet must not take the process down when the peer closes it with an error.
    this.on('error', () => {});
  }

  /** @internal */
  deliver(payload: Buffer): void {
    if (!this.remoteEnded && !this.destroyed) this.push(payload);
  }

  /** @internal */
  remoteClosed(error: string | undefined): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    if (error) this.destroy(new Error(error));
    else {
      this.push(null);
      this.maybeForget();
    }
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    for (let off = 0; off < chunk.length; off += CHANNEL_CHUNK_BYTES) {
      this.peer.sendFrame(this.id, chunk.subarray(off, off + CHANNEL_CHUNK_BYTES));
    }
    this.peer.drained().then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.localEnded = true;
    this.peer.notify('channel.close', { channel: this.id });
    this.maybeForget();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (!this.localEnded) {
      this.localEnded = true;
      this.peer.notify('channel.close', {
        channel: this.id,
        ...(err ? { error: err.message.slice(0, 4000) } : {}),
      });
    }
    this.remoteEnded = true;
    this.peer.forget(this.id);
    cb(err);
  }

  private maybeForget(): void {
    if (this.localEnded && this.remoteEnded) this.peer.forget(this.id);
  }
}

/**
 * The notification form of RpcMessage, checked by hand: notifications are most of the traffic
 * (every task event), and the union tries the request form first. Anything else, or anything
 * this does not accept, goes to the union, which accepts or refuses it as before.
 */
function asNotification(v: unknown): { method: string; params: unknown } | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const method = o.method;
  if (o.jsonrpc !== '2.0' || typeof method !== 'string' || method.length < 1 || method.length > 64)
    return undefined;
  for (const k in o) if (k !== 'jsonrpc' && k !== 'method' && k !== 'params') return undefined;
  return { method, params: o.params };
}
