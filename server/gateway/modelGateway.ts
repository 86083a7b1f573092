// The model gateway (DESIGN.md §5). Claude Code in a workspace talks to ANTHROPIC_BASE_URL on
// loopback with a placeholder key; the agent's forwarder carries each connection over the
// workspace's authenticated agent channel, and the control plane hands the bytes here as a Duplex
// together with the workspace id. So the stream's origin authenticates the workspace, never a
// header. For every request the gateway finds whom the workspace works for, refuses once their
// budget is spent, swaps the placeholder for the real key (the user's own, else the
// organisation's), relays to the upstream and streams the answer back unchanged while reading the
// token counts from a copy, then records one usage row with its cost.
//
// Like the egress proxy, one http.Server that never listens parses every stream: Node's HTTP
// parser runs on any Duplex emitted as a 'connection'.

import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { endToEndHeaders, errorCode, HOP_BY_HOP } from '../http/proxyHeaders.js';
import type { UsageRecordInput } from '../store/usageStore.js';
import { GatewayRefusal, onClientError, sendError } from './gatewayErrors.js';
import { costUsd, type PriceTable } from './pricing.js';
import { UsageCollector } from './usageCollector.js';

/** Whom a workspace's model requests are for; the tasks service knows (see `attribute`). */
export interface GatewayAttribution {
  /** The user whose key is used and whose budget is charged. */
  userId: string;
  workspaceId: string;
  /** The task the workspace is running, when it runs one. */
  taskId?: string;
  /** That task's own spending limit in USD (its maxBudgetUsd), when it has one. */
  taskBudgetUsd?: number;
}

/** Why a request is refused for money; `message` is what Claude Code shows the user. */
export interface BudgetRefusal {
  scope: 'task' | 'user';
  limitUsd: number;
  usedUsd: number;
  message: string;
}

export interface ModelGatewayOptions {
  /** Base URL of the Messages API (`gateway.upstream`); a path on it prefixes every request path. */
  upstream: string;
  /** Whom the workspace works for; undefined refuses its requests (403). */
  attribute(workspaceId: string): Promise<GatewayAttribution | undefined>;
  /** A refusal once the task's or user's budget is spent; called before anything goes upstream. */
  checkBudget(attr: GatewayAttribution): Promise<BudgetRefusal | undefined>;
  /** The API key to use: the user's own, else the organisation's; undefined when there is none. */
  resolveCredential(attr: GatewayAttribution): Promise<string | undefined>;
  /** Stores one usage row; called after each response that reported usage. Errors are logged. */
  record(usage: UsageRecordInput): Promise<void>;
  prices: PriceTable;
  log: Logger;
  /** Limit on opening a connection to the upstream. Default 10 s. */
  connectTimeoutMs?: number;
}

/**
 * The only API calls relayed. With the organisation's key behind it, anything else would let a
 * workspace use the organisation's Files, Batches or Agents APIs: read what others uploaded, or
 * spend without the usage ever passing through here to be counted.
 */
const RELAYED: { method: string; path: RegExp }[] = [
  { method: 'POST', path: /^\/v1\/messages$/ },
  { method: 'POST', path: /^\/v1\/messages\/count_tokens$/ },
  { method: 'GET', path: /^\/v1\/models(\/[A-Za-z0-9._:@-]+)?$/ },
];

// Headers that describe one hop (RFC 9110 §7.6.1), plus the client's credentials, which are the
// workspace's placeholder and must never reach the upstream. `Host` is the upstream's.
const DROPPED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'x-api-key', 'authorization']);

export const NO_KEY_MESSAGE =
  'Remote Claude has no Anthropic API key: save yours (PUT /api/v1/me/secrets/anthropic-api-key) or set ANTHROPIC_API_KEY on the server.';

export class ModelGateway {
  private readonly upstream: URL;
  private readonly agent: http.Agent;
  private readonly parser: http.Server;
  private readonly meta = new WeakMap<Duplex, { workspaceId: string }>();
  private readonly open = new Set<Duplex>();
  /** Usage being recorded, with the workspace it is for. */
  private readonly pending = new Map<Promise<void>, string>();
  private readonly connectTimeoutMs: number;
  private listener: net.Server | undefined;
  private closed = false;

  /** Throws when `upstream` is not an http(s) URL. */
  constructor(private readonly opts: ModelGatewayOptions) {
    this.upstream = new URL(opts.upstream);
    if (this.upstream.protocol !== 'http:' && this.upstream.protocol !== 'https:') {
      throw new Error(`gateway upstream must be an http(s) URL, not ${opts.upstream}`);
    }
    this.agent =
      this.upstream.protocol === 'https:'
        ? new https.Agent({ keepAlive: true })
        : new http.Agent({ keepAlive: true });
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.parser = http.createServer();
    this.parser.on('request', (req, res) => this.onRequest(req, res));
    this.parser.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket));
  }

  /**
   * Serves one client connection from workspace `meta.workspaceId`: any number of keep-alive
   * requests. Never throws; a stream handed in after `close()` is destroyed.
   */
  handle(stream: Duplex, meta: { workspaceId: string }): void {
    if (this.closed) {
      stream.destroy();
      return;
    }
    this.open.add(stream);
    stream.once('close', () => this.open.delete(stream));
    this.meta.set(stream, meta);
    this.parser.emit('connection', stream);
  }

  /**
   * Listens on `host:port` (port 0 picks one) and serves every socket as workspace
   * `meta.workspaceId`; returns the port. For tests and benchmarks: nothing authenticates these.
   */
  async listen(port: number, host: string, meta: { workspaceId: string }): Promise<number> {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.setNoDelay(true);
      this.handle(socket, meta);
    });
    this.listener = server;
    server.listen(port, host);
    await once(server, 'listening');
    return (server.address() as net.AddressInfo).port;
  }

  /**
   * Stops listening, destroys open client and upstream connections and waits for the usage of
   * finished responses to be recorded. Idempotent.
   */
  async close(): Promise<void> {
    this.closed = true;
    const server = this.listener;
    this.listener = undefined;
    for (const s of this.open) s.destroy();
    this.agent.destroy();
    if (server?.listening) await new Promise((resolve) => server.close(resolve));
    await Promise.allSettled([...this.pending.keys()]);
  }

  /**
   * Resolves once the usage of every response from the workspace that has ended so far is
   * recorded. Never rejects.
   */
  async settled(workspaceId: string): Promise<void> {
    const mine = [...this.pending].filter(([, ws]) => ws === workspaceId).map(([p]) => p);
    await Promise.allSettled(mine);
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const meta = this.meta.get(req.socket);
    this.serve(req, res, meta?.workspaceId ?? '').catch((err: unknown) => {
      if (err instanceof GatewayRefusal) {
        sendError(res, err.status, err.type, err.message);
        return;
      }
      this.opts.log.error({ err, workspaceId: meta?.workspaceId }, 'model gateway request failed');
      sendError(
        res,
        500,
        'api_error',
        'Remote Claude: the model gateway failed on this request; see the server log.',
      );
    });
  }

  private async serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    workspaceId: string,
  ): Promise<void> {
    // Nothing of a refused request's body is read; Node discards it once the answer is sent.
    const url = req.url ?? '';
    const pathname = url.split('?')[0] ?? '';
    if (!url.startsWith('/') || !RELAYED.some((r) => r.method === req.method && r.path.test(pathname))) {
      throw new GatewayRefusal(
        404,
        'not_found_error',
        `Remote Claude's model gateway relays only POST /v1/messages, POST /v1/messages/count_tokens and GET /v1/models, not ${req.method} ${pathname}.`,
      );
    }
    const attr = await this.opts.attribute(workspaceId);
    if (!attr) {
      throw new GatewayRefusal(
        403,
        'permission_error',
        `Remote Claude: workspace ${workspaceId || '(none)'} is not known to the model gateway.`,
      );
    }
    const refusal = await this.opts.checkBudget(attr);
    if (refusal) {
      this.opts.log.info(
        {
          workspaceId,
          taskId: attr.taskId,
          userId: attr.userId,
          scope: refusal.scope,
          usedUsd: refusal.usedUsd,
        },
        'model request refused: budget spent',
      );
      // 400 because Claude Code (through the Anthropic SDK) retries 408, 409, 429 and 5xx but not
      // other 4xx, and it shows the message; x-should-retry: false says the same to any SDK.
      throw new GatewayRefusal(400, 'invalid_request_error', refusal.message);
    }
    const key = await this.opts.resolveCredential(attr);
    if (!key) throw new GatewayRefusal(401, 'authentication_error', NO_KEY_MESSAGE);
    if (res.destroyed) return;
    this.forward(req, res, attr, key);
  }

  /** Relays one request with `key`, streaming both bodies, and accounts for its usage. */
  private forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    attr: GatewayAttribution,
    key: string,
  ): void {
    const headers = endToEndHeaders(req.rawHeaders, DROPPED);
    // Node adds no Host header to a raw header list by itself.
    headers.unshift('Host', this.upstream.host);
    headers.push('x-api-key', key);
    // Node frames a body only when told to; keep the client's chunked framing when it sent one.
    if (req.headers['transfer-encoding'] !== undefined) headers.push('Transfer-Encoding', 'chunked');
    const base = this.upstream.pathname.replace(/\/$/, '');
    const client = this.upstream.protocol === 'https:' ? https : http;
    const out = client.request({
      protocol: this.upstream.protocol,
      hostname: this.upstream.hostname,
      port: this.upstream.port || undefined,
      method: req.method,
      path: `${base}${req.url}`,
      headers,
      agent: this.agent,
    });
    this.limitConnect(out);

    out.on('response', (up) => {
      const collector = new UsageCollector(up.headers['content-type'], up.headers['content-encoding']);
      res.writeHead(up.statusCode ?? 502, up.statusMessage, endToEndHeaders(up.rawHeaders, DROPPED));
      // Send the status line and headers now: a streaming client should not wait for the first event.
      res.flushHeaders();
      // The pipe writes each chunk on to the client before this copy of it is parsed.
      up.pipe(res);
      up.on('data', (chunk: Buffer) => collector.push(chunk));
      up.on('error', () => res.destroy());
      up.once('close', () => {
        if (!up.complete) res.destroy();
        const requestId = up.headers['request-id'];
        this.track(
          attr.workspaceId,
          this.account(attr, collector, typeof requestId === 'string' ? requestId : undefined),
        );
      });
    });
    out.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      this.opts.log.warn(
        { workspaceId: attr.workspaceId, upstream: this.upstream.host, code: errorCode(err) },
        'model upstream unreachable',
      );
      sendError(
        res,
        502,
        'api_error',
        `Remote Claude could not reach the model API at ${this.upstream.host} (${errorCode(err)}).`,
      );
    });
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.on('error', () => out.destroy());
    req.pipe(out);
  }

  /** Fails the request when a new upstream connection does not open in time. */
  private limitConnect(out: http.ClientRequest): void {
    out.on('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => out.destroy(new ConnectTimeout()), this.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
  }

  private async account(
    attr: GatewayAttribution,
    collector: UsageCollector,
    requestId: string | undefined,
  ): Promise<void> {
    try {
      const usage = await collector.finish();
      if (!usage) return;
      await this.opts.record({
        userId: attr.userId,
        workspaceId: attr.workspaceId,
        taskId: attr.taskId,
        model: usage.model,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cacheCreationTokens: usage.cacheCreationTokens,
        cacheReadTokens: usage.cacheReadTokens,
        costUsd: costUsd(usage.model, usage, this.opts.prices),
        requestId,
      });
    } catch (err) {
      this.opts.log.error({ err, workspaceId: attr.workspaceId, requestId }, 'could not record model usage');
    }
  }

  private track(workspaceId: string, p: Promise<void>): void {
    this.pending.set(p, workspaceId);
    void p.finally(() => this.pending.delete(p));
  }
}

class ConnectTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}
