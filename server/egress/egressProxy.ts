// The egress proxy (DESIGN.md §5): the only way out of a workspace besides the model gateway.
// Workspaces have nothing but loopback; their HTTP_PROXY/HTTPS_PROXY point at the agent's
// forwarder, which relays each TCP connection over the agent channel, and the control plane hands
// the bytes here as a Duplex stream. Node's HTTP parser runs on any Duplex when it is emitted as a
// 'connection' on an http.Server that never listens, so one server parses every stream.

import dns from 'node:dns/promises';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { endToEndHeaders, errorCode } from '../http/proxyHeaders.js';
import {
  type AllowEntry,
  blockedRange,
  formatTarget,
  isExplicitlyAllowed,
  isHostAllowed,
  parseAllowlist,
  parseAuthority,
  type Target,
} from './egressPolicy.js';

export interface EgressDecision {
  workspaceId?: string;
  method: 'CONNECT' | 'HTTP';
  host: string;
  port: number;
  /** The address the proxy connects to, when allowed. */
  address?: string;
  allowed: boolean;
  /** Why the request was refused, in the words of the refusal message. */
  reason?: string;
}

export type LookupFn = (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;

export interface EgressProxyOptions {
  /** `egress.allow` entries: `host`, `*.domain`, `host:port`, `[v6]:port`. */
  allow: string[];
  /** Resolves a host name; defaults to the system resolver (`dns.lookup`, all addresses). */
  lookup?: LookupFn;
  /** Limit on resolving a name and on connecting to its address, each. Default 10 s. */
  connectTimeoutMs?: number;
  /** Called once per CONNECT or plain HTTP request the proxy decides on, for metrics and audit. */
  onDecision?: (d: EgressDecision) => void;
}

interface StreamMeta {
  workspaceId?: string;
}

/** A refusal the client sees as an HTTP status and a one-line text body. */
class EgressRefusal extends Error {
  constructor(
    readonly status: 400 | 403 | 431 | 502 | 504,
    message: string,
  ) {
    super(message);
  }
}

const PREFIX = 'remote-claude egress proxy: ';
const ALLOW_HINT = '(egress.allow in the config, or RC_EGRESS_ALLOW)';

const systemLookup: LookupFn = async (host) =>
  (await dns.lookup(host, { all: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

export class EgressProxy {
  private readonly allow: AllowEntry[];
  private readonly lookup: LookupFn;
  private readonly timeoutMs: number;
  private readonly onDecision: (d: EgressDecision) => void;
  private readonly parser: http.Server;
  private readonly meta = new WeakMap<Duplex, StreamMeta>();
  private readonly open = new Set<Duplex>();
  private listener?: net.Server;
  private closed = false;

  /** Throws when an allowlist entry is not valid. */
  constructor(opts: EgressProxyOptions) {
    this.allow = parseAllowlist(opts.allow);
    this.lookup = opts.lookup ?? systemLookup;
    this.timeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.onDecision = opts.onDecision ?? (() => {});
    // The absolute-form target names the host, so a missing Host header is no reason to refuse.
    this.parser = http.createServer({ requireHostHeader: false });
    this.parser.on('request', (req, res) => this.onRequest(req, res));
    this.parser.on('connect', (req, socket, head) => this.onConnect(req, socket, head));
    this.parser.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket));
  }

  /**
   * Serves one client connection: several keep-alive plain HTTP requests, or one CONNECT tunnel.
   * Never throws; a stream handed in after `close()` is destroyed.
   */
  handle(stream: Duplex, meta: { workspaceId?: string } = {}): void {
    if (this.closed) {
      stream.destroy();
      return;
    }
    this.track(stream);
    this.meta.set(stream, meta);
    this.parser.emit('connection', stream);
  }

  /** Listens on `host:port` (port 0 picks one) and serves each socket with `handle`; returns the port. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    // Half-open like http.Server, so a tunnel can carry a client's FIN while the reply still flows.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.handle(socket, {}));
    this.listener = server;
    server.listen(port, host);
    await once(server, 'listening');
    return (server.address() as net.AddressInfo).port;
  }

  /** Stops listening and destroys every open client and upstream connection. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const server = this.listener;
    this.listener = undefined;
    for (const s of this.open) s.destroy();
    if (server?.listening) await new Promise((resolve) => server.close(resolve));
  }

  private track(stream: Duplex): void {
    this.open.add(stream);
    stream.once('close', () => this.open.delete(stream));
  }

  private decide(d: Omit<EgressDecision, 'workspaceId'>, meta: StreamMeta | undefined): void {
    this.onDecision({ workspaceId: meta?.workspaceId, ...d });
  }

  /**
   * Checks `target` against the allowlist, resolves it, checks every address, and connects to a
   * checked one. The socket is connected to that address, never to a fresh resolution of the name:
   * re-resolving would let a DNS server answer with a public address for the check and a private
   * one for the connection. Throws EgressRefusal.
   */
  private async dial(
    method: EgressDecision['method'],
    target: Target,
    meta?: StreamMeta,
  ): Promise<net.Socket> {
    const where = formatTarget(target);
    const refuse = (status: 403 | 502 | 504, reason: string): EgressRefusal => {
      this.decide({ method, ...target, allowed: false, reason }, meta);
      return new EgressRefusal(status, `${where} ${reason}`);
    };
    if (!isHostAllowed(this.allow, target.host, target.port)) {
      throw refuse(403, `is not on the allowlist ${ALLOW_HINT}`);
    }
    const family = net.isIP(target.host);
    let addresses: { address: string; family: 4 | 6 }[];
    if (family !== 0) {
      addresses = [{ address: target.host, family: family === 6 ? 6 : 4 }];
    } else {
      try {
        addresses = await withTimeout(this.lookup(target.host), this.timeoutMs);
      } catch (err) {
        if (err instanceof TimeoutError)
          throw refuse(504, `could not be resolved within ${this.timeoutMs} ms`);
        throw refuse(502, `could not be resolved (${errorCode(err)})`);
      }
      if (addresses.length === 0) throw refuse(502, 'could not be resolved (no addresses)');
    }
    if (!isExplicitlyAllowed(this.allow, target.host, target.port)) {
      for (const { address } of addresses) {
        const range = blockedRange(address);
        if (range === undefined) continue;
        const what = family === 0 ? `resolves to ${address}, a ${range} address` : `is a ${range} address`;
        throw refuse(403, `${what}, which is blocked (only an exact "host:port" allowlist entry opens it)`);
      }
    }
    this.decide({ method, ...target, address: addresses[0]?.address, allowed: true }, meta);
    let lastError: unknown;
    for (const a of addresses) {
      try {
        return await this.connect(a.address, a.family, target.port);
      } catch (err) {
        lastError = err;
      }
    }
    if (lastError instanceof TimeoutError) {
      throw new EgressRefusal(504, `${where} did not accept a connection within ${this.timeoutMs} ms`);
    }
    throw new EgressRefusal(502, `${where} could not be reached (${errorCode(lastError)})`);
  }

  private async connect(address: string, family: 4 | 6, port: number): Promise<net.Socket> {
    const socket = net.connect({ host: address, family, port, allowHalfOpen: true });
    this.track(socket);
    // Whoever takes the socket adds its own listener; until then an error must not go unhandled.
    socket.on('error', () => socket.destroy());
    try {
      await withTimeout(once(socket, 'connect'), this.timeoutMs);
      return socket;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  private onConnect(req: http.IncomingMessage, client: Duplex, head: Buffer): void {
    const meta = this.meta.get(client);
    client.on('error', () => client.destroy());
    const target = parseAuthority(req.url ?? '');
    if (!target) {
      const msg = `CONNECT needs a target like "example.com:443" with a port from 1 to 65535, not "${req.url}"`;
      writeRawRefusal(client, new EgressRefusal(400, msg));
      return;
    }
    this.dial('CONNECT', target, meta).then(
      (upstream) => {
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        splice(client, upstream);
      },
      (err: unknown) => writeRawRefusal(client, asRefusal(err)),
    );
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const meta = this.meta.get(req.socket);
    const m = /^http:\/\/([^/?#]*)(.*)$/is.exec(req.url ?? '');
    const target = m ? parseAuthority(m[1] ?? '', 80) : undefined;
    if (!m || !target) {
      const msg = /^https:/i.test(req.url ?? '')
        ? 'https:// targets go through CONNECT; plain requests must be absolute http:// URLs'
        : `this is a proxy: requests must name an absolute http:// URL, as in "GET http://example.com/ HTTP/1.1", not "${req.url}"`;
      sendRefusal(res, new EgressRefusal(400, msg));
      return;
    }
    const path = m[2]?.startsWith('/') ? m[2] : `/${m[2] ?? ''}`;
    this.dial('HTTP', target, meta).then(
      (upstream) => forward(req, res, upstream, path, m[1] ?? ''),
      (err: unknown) => sendRefusal(res, asRefusal(err)),
    );
  }
}

/** Relays one plain HTTP request over a connected upstream socket, streaming bodies both ways. */
function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  upstream: net.Socket,
  path: string,
  authority: string,
): void {
  if (res.destroyed) {
    upstream.destroy();
    return;
  }
  const headers = endToEndHeaders(req.rawHeaders);
  // RFC 9112 §3.2.2: a proxy replaces Host with the authority of the absolute-form target, the one
  // the allowlist checked, so a client cannot name an allowed host and ask for another virtual host.
  headers.unshift('Host', authority);
  // Node frames a GET body only when asked to; keep the client's chunked framing when it sent one.
  if (req.headers['transfer-encoding'] !== undefined) headers.push('Transfer-Encoding', 'chunked');
  const out = http.request({ method: req.method, path, headers, createConnection: () => upstream });
  out.on('response', (upstreamRes) => {
    upstreamRes.on('error', () => res.destroy());
    upstreamRes.on('aborted', () => res.destroy());
    res.writeHead(
      upstreamRes.statusCode ?? 502,
      upstreamRes.statusMessage,
      endToEndHeaders(upstreamRes.rawHeaders),
    );
    upstreamRes.pipe(res);
  });
  out.on('error', (err) => {
    if (res.headersSent) res.destroy();
    else sendRefusal(res, new EgressRefusal(502, `${authority} failed to answer (${errorCode(err)})`));
  });
  res.on('close', () => {
    if (!res.writableFinished) out.destroy();
  });
  req.pipe(out);
}

/**
 * Pipes two half-open-capable streams into each other. A FIN travels on as a FIN; when one side
 * closes abruptly the other is destroyed, and when one closes cleanly the other is destroyed once
 * its last bytes are written, since nothing can be delivered to the closed side any more.
 */
function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const bind = (x: Duplex, y: Duplex) => {
    x.on('error', () => y.destroy());
    x.on('close', () => {
      if (!x.readableEnded || y.writableFinished) y.destroy();
      else y.once('finish', () => y.destroy());
    });
  };
  bind(a, b);
  bind(b, a);
}

/** Status, headers and body of a refusal; `x-remote-claude-egress` tells it from an upstream reply. */
function refusalParts(r: EgressRefusal): { headers: Record<string, string>; body: string } {
  const body = `${PREFIX}${r.message}\n`;
  const headers = {
    'content-type': 'text/plain',
    'x-remote-claude-egress': r.status === 403 ? 'denied' : 'error',
    'content-length': String(Buffer.byteLength(body)),
  };
  return { headers, body };
}

function sendRefusal(res: http.ServerResponse, r: EgressRefusal): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const { headers, body } = refusalParts(r);
  res.writeHead(r.status, headers);
  res.end(body);
}

/** Answers on a stream no ServerResponse owns (a CONNECT, unparsable bytes), then closes it. */
function writeRawRefusal(stream: Duplex, r: EgressRefusal): void {
  if (stream.destroyed || !stream.writable) {
    stream.destroy();
    return;
  }
  const { headers, body } = refusalParts(r);
  const lines = Object.entries({ ...headers, connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`);
  stream.end(`HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status]}\r\n${lines.join('')}\r\n${body}`);
  endThenDestroy(stream);
}

/** Malformed bytes: a 400 unless a response is already under way on the stream, then close. */
function onClientError(err: NodeJS.ErrnoException, stream: Duplex): void {
  const inFlight = (stream as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
  if (err.code === 'ECONNRESET' || inFlight?.headersSent) {
    stream.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  writeRawRefusal(
    stream,
    new EgressRefusal(status, `could not parse the request (${err.code ?? err.message})`),
  );
}

/** After `end()`, gives the peer a moment to read the reply before the stream is torn down. */
function endThenDestroy(stream: Duplex): void {
  stream.on('error', () => stream.destroy());
  stream.once('finish', () => setTimeout(() => stream.destroy(), 1000).unref());
}

function asRefusal(err: unknown): EgressRefusal {
  return err instanceof EgressRefusal ? err : new EgressRefusal(502, `internal error (${errorCode(err)})`);
}

class TimeoutError extends Error {}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
