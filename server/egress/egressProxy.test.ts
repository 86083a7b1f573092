// Real sockets on 127.0.0.1 only. Targets the proxy must refuse (cloud metadata, private networks)
// are reached through IP literals or a lookup function that maps a made-up name onto them; the
// tests spy on net.connect to show the proxy refused before it tried to connect anywhere.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGitHttpServer } from '../../test/support/gitHttpServer.js';
import { type EgressDecision, EgressProxy, type EgressProxyOptions, type LookupFn } from './egressProxy.js';

const MiB = 1024 * 1024;
const run = promisify(execFile);
const hasCurl = spawnSync('curl', ['--version']).status === 0;
const hasGit = spawnSync('git', ['--version']).status === 0;

const proxies: EgressProxy[] = [];
const servers: net.Server[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  for (const s of servers) {
    if (s instanceof http.Server) s.closeAllConnections();
    s.close();
  }
});

async function listen<T extends net.Server>(server: T): Promise<number> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** Echoes every byte and ends its side once the client has ended its own. */
const echoPort = () => listen(net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)));

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise((done) => s.close(done));
  return port;
}

async function startProxy(opts: Partial<EgressProxyOptions> & { allow: string[] }) {
  const decisions: EgressDecision[] = [];
  const proxy = new EgressProxy({ onDecision: (d) => decisions.push(d), ...opts });
  proxies.push(proxy);
  const port = await proxy.listen(0);
  return { proxy, port, decisions };
}

/** A lookup for made-up names; any other name fails as unknown. */
function fakeDns(names: Record<string, string[]>): LookupFn & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (host: string) => {
    calls.push(host);
    const addresses = names[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({
      address,
      family: net.isIP(address) === 6 ? (6 as const) : (4 as const),
    }));
  };
  return Object.assign(fn, { calls });
}

/** Reads up to the end of the response head; bytes after it stay in the stream. */
function readHead(stream: Duplex): Promise<{ status: number; head: string }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      stream.off('data', onData).off('end', onEnd).pause();
      if (end + 4 < buf.length) stream.unshift(buf.subarray(end + 4));
      const head = buf.subarray(0, end).toString();
      resolve({ status: Number(head.split(' ')[1]), head });
    };
    const onEnd = () =>
      reject(new Error(`stream ended before a response head: ${JSON.stringify(buf.toString())}`));
    stream.on('data', onData).once('end', onEnd);
  });
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Sends raw bytes to the proxy and returns everything it answers until it closes. */
async function exchange(proxyPort: number, bytes: string | Buffer): Promise<string> {
  const socket = net.createConnection(proxyPort, '127.0.0.1');
  socket.write(bytes);
  return readAll(socket);
}

async function connectThrough(proxyPort: number, target: string, early = '') {
  const socket = net.createConnection(proxyPort, '127.0.0.1');
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n${early}`);
  return { socket, ...(await readHead(socket)) };
}

async function refusal(proxyPort: number, target: string) {
  const { socket, status, head } = await connectThrough(proxyPort, target);
  return { status, head, body: await readAll(socket) };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  reused: boolean;
}

/** A plain HTTP request through the proxy, body streamed from `body` when given. */
function viaProxy(
  proxyPort: number,
  url: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Readable; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      path: url,
      method: opts.method ?? 'GET',
      headers: { host: new URL(url).host, ...opts.headers },
      agent: opts.agent,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          reused: req.reusedSocket,
        }),
      );
    });
    if (opts.body) opts.body.pipe(req);
    else req.end();
  });
}

/** `count` chunks of 64 KiB of varying bytes. */
function* chunks(count: number): Generator<Buffer> {
  for (let i = 0; i < count; i++) yield Buffer.alloc(64 * 1024, i % 251);
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An origin server: /big streams 3 MiB, /echo returns what it received, POST /sum hashes the body. */
async function originPort(): Promise<number> {
  const server = http.createServer(async (req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (const c of chunks(48)) if (!res.write(c)) await once(res, 'drain');
      res.end();
    } else if (req.url === '/sum' && req.method === 'POST') {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const c of req) {
        hash.update(c as Buffer);
        bytes += (c as Buffer).length;
      }
      res.end(JSON.stringify({ bytes, sha: hash.digest('hex') }));
    } else {
      const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers });
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'x-upstream-hop',
        'x-upstream-hop': '1',
      });
      res.end(body);
    }
  });
  server.keepAliveTimeout = 100;
  return listen(server);
}

/** Two connected in-memory Duplex streams: what one writes the other reads, ends included. */
function duplexPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _enc, done) {
        peer().push(chunk);
        done();
      },
      final(done) {
        peer().push(null);
        done();
      },
    });
  sides.push(
    make(() => sides[1] as Duplex),
    make(() => sides[0] as Duplex),
  );
  return [sides[0] as Duplex, sides[1] as Duplex];
}

describe('EgressProxy CONNECT', () => {
  it('tunnels both ways to a loopback server allowed by an exact host:port entry', async () => {
    const echo = await echoPort();
    const { port, decisions } = await startProxy({ allow: [`127.0.0.1:${echo}`] });
    const { socket, status } = await connectThrough(port, `127.0.0.1:${echo}`, 'early ');
    expect(status).toBe(200);
    socket.end('bytes after the reply');
    // The client's FIN reaches the echo server, whose FIN comes back after the echoed bytes.
    expect(await readAll(socket)).toBe('early bytes after the reply');
    expect(decisions).toEqual([
      {
        workspaceId: undefined,
        method: 'CONNECT',
        host: '127.0.0.1',
        port: echo,
        address: '127.0.0.1',
        allowed: true,
      },
    ]);
  });

  it('carries 3 MiB each way and tears the upstream down when the client vanishes', async () => {
    const upstreams: net.Socket[] = [];
    const echo = await listen(
      net.createServer({ allowHalfOpen: true }, (s) => {
        upstreams.push(s);
        s.pipe(s);
      }),
    );
    const { port } = await startProxy({ allow: [`127.0.0.1:${echo}`] });
    const { socket } = await connectThrough(port, `127.0.0.1:${echo}`);
    const sent = Buffer.concat([...chunks(48)]);
    let received = 0;
    const hash = createHash('sha256');
    const echoed = new Promise<void>((resolve) => {
      socket.on('data', (c: Buffer) => {
        hash.update(c);
        received += c.length;
        if (received === sent.length) resolve();
      });
      socket.resume();
    });
    socket.write(sent);
    await echoed;
    expect(hash.digest('hex')).toBe(sha256(sent));
    const upstreamClosed = once(upstreams[0] as net.Socket, 'close');
    socket.destroy();
    await upstreamClosed;
  });

  it('refuses a host that is not on the allowlist, with a 403 a developer can read', async () => {
    const connect = vi.spyOn(net, 'connect');
    const { port, decisions } = await startProxy({ allow: ['github.com'] });
    const r = await refusal(port, 'evil.example.com:443');
    expect(r.status).toBe(403);
    expect(r.head).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(r.head).toMatch(/\r\ncontent-type: text\/plain\r\n/);
    expect(r.head).toMatch(/\r\nx-remote-claude-egress: denied\r\n/);
    expect(r.body).toBe(
      'remote-claude egress proxy: evil.example.com:443 is not on the allowlist (egress.allow in the config, or RC_EGRESS_ALLOW)\n',
    );
    expect(decisions).toEqual([
      expect.objectContaining({ method: 'CONNECT', host: 'evil.example.com', port: 443, allowed: false }),
    ]);
    expect(connect).not.toHaveBeenCalled();
  });

  it('refuses loopback unless an entry names the exact host and port', async () => {
    const echo = await echoPort();
    const connect = vi.spyOn(net, 'connect');
    const lookup = fakeDns({ 'a.loop.test': ['127.0.0.1'] });
    const { port } = await startProxy({
      allow: ['127.0.0.1', `*.loop.test:${echo}`, `127.0.0.2:${echo}`],
      lookup,
    });
    const literal = await refusal(port, '127.0.0.1:443');
    expect(literal.status).toBe(403);
    expect(literal.body).toMatch(/127\.0\.0\.1:443 is a loopback address, which is blocked/);
    const wildcard = await refusal(port, `a.loop.test:${echo}`);
    expect(wildcard.status).toBe(403);
    expect(wildcard.body).toMatch(/resolves to 127\.0\.0\.1, a loopback address, which is blocked/);
    // An entry for 127.0.0.2 opens that spelling only, not 127.0.0.1 on the same port.
    expect((await refusal(port, `127.0.0.1:${echo}`)).status).toBe(403);
    expect(connect).not.toHaveBeenCalled();
  });

  it.each([
    ['169.254.169.254:80', 'link-local'],
    ['10.0.0.5:443', 'private'],
    ['[fd00::1]:443', 'private'],
    ['[::ffff:169.254.169.254]:80', 'link-local'],
    ['100.64.1.1:443', 'carrier-grade NAT'],
  ])(
    'refuses the IP literal %s (%s) before connecting, even when allowlisted without a port',
    async (target, range) => {
      const connect = vi.spyOn(net, 'connect');
      const host = target.replace(/:\d+$/, '');
      const { port } = await startProxy({ allow: [host] });
      const r = await refusal(port, target);
      expect(r.status).toBe(403);
      expect(r.body).toContain(`is a ${range} address, which is blocked`);
      expect(connect).not.toHaveBeenCalled();
    },
  );

  it('refuses an allowlisted name whose DNS answer is private (DNS rebinding)', async () => {
    const connect = vi.spyOn(net, 'connect');
    const lookup = fakeDns({
      'metadata.good.test': ['169.254.169.254'],
      'mixed.good.test': ['203.0.113.7', '10.1.2.3'],
    });
    const { port, decisions } = await startProxy({ allow: ['*.good.test'], lookup });
    const metadata = await refusal(port, 'metadata.good.test:443');
    expect(metadata.status).toBe(403);
    expect(metadata.body).toBe(
      'remote-claude egress proxy: metadata.good.test:443 resolves to 169.254.169.254, a link-local address, ' +
        'which is blocked (only an exact "host:port" allowlist entry opens it)\n',
    );
    // One private address among public ones is enough to refuse: the connection could land on it.
    expect((await refusal(port, 'mixed.good.test:443')).body).toMatch(
      /resolves to 10\.1\.2\.3, a private address/,
    );
    expect(decisions.map((d) => [d.host, d.allowed])).toEqual([
      ['metadata.good.test', false],
      ['mixed.good.test', false],
    ]);
    expect(connect).not.toHaveBeenCalled();
  });

  it('connects to the address it checked and never resolves the name again', async () => {
    const echo = await echoPort();
    const connect = vi.spyOn(net, 'connect');
    let answers = 0;
    // A rebinding resolver: a harmless answer first, then one pointing somewhere else.
    const lookup: LookupFn = async () => [{ address: answers++ === 0 ? '127.0.0.1' : '10.9.9.9', family: 4 }];
    const { port } = await startProxy({ allow: [`pinned.test:${echo}`], lookup });
    const { socket, status } = await connectThrough(port, `pinned.test:${echo}`);
    expect(status).toBe(200);
    socket.end('pinned');
    expect(await readAll(socket)).toBe('pinned');
    expect(answers).toBe(1);
    expect(connect).toHaveBeenCalledTimes(1);
    expect(connect.mock.calls[0]?.[0]).toMatchObject({ host: '127.0.0.1', port: echo });
  });

  it('tries the next address when the first cannot be reached', async () => {
    const echo = await echoPort();
    const lookup = fakeDns({ 'two.test': ['::1', '127.0.0.1'] });
    const { port, decisions } = await startProxy({ allow: [`two.test:${echo}`], lookup });
    const { socket, status } = await connectThrough(port, `two.test:${echo}`);
    expect(status).toBe(200);
    socket.end('second');
    expect(await readAll(socket)).toBe('second');
    expect(decisions[0]).toMatchObject({ allowed: true, address: '::1' });
  });

  it('answers 502 when the name does not resolve or the connection is refused, 504 on a timeout', async () => {
    const closed = await closedPort();
    const never: LookupFn = () => new Promise(() => {});
    const lookup = fakeDns({});
    const { port } = await startProxy({ allow: ['nowhere.test', `127.0.0.1:${closed}`], lookup });
    const dns = await refusal(port, 'nowhere.test:443');
    expect(dns.status).toBe(502);
    expect(dns.head).toMatch(/\r\nx-remote-claude-egress: error\r\n/);
    expect(dns.body).toMatch(/nowhere\.test:443 could not be resolved \(ENOTFOUND\)/);
    const refused = await refusal(port, `127.0.0.1:${closed}`);
    expect(refused.status).toBe(502);
    expect(refused.body).toMatch(/could not be reached \(ECONNREFUSED\)/);
    const slow = await startProxy({ allow: ['slow.test'], lookup: never, connectTimeoutMs: 50 });
    const timedOut = await refusal(slow.port, 'slow.test:443');
    expect(timedOut.status).toBe(504);
    expect(timedOut.body).toMatch(/could not be resolved within 50 ms/);
  });

  it.each(['example.com', 'example.com:0', 'example.com:65536', 'example.com:https', '[::1', 'a b:443'])(
    'answers 400 to the CONNECT target %j',
    async (target) => {
      const { port, decisions } = await startProxy({ allow: ['example.com'] });
      const reply = await exchange(port, `CONNECT ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(decisions).toEqual([]);
    },
  );
});

describe('EgressProxy plain HTTP', () => {
  let origin: number;
  beforeAll(async () => {
    origin = await originPort();
  });

  it('streams a 3 MiB response from an allowed loopback server', async () => {
    const { port, decisions } = await startProxy({ allow: [`127.0.0.1:${origin}`] });
    const reply = await viaProxy(port, `http://127.0.0.1:${origin}/big`);
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(3 * MiB);
    expect(sha256(reply.body)).toBe(sha256(Buffer.concat([...chunks(48)])));
    expect(decisions).toEqual([
      {
        workspaceId: undefined,
        method: 'HTTP',
        host: '127.0.0.1',
        port: origin,
        address: '127.0.0.1',
        allowed: true,
      },
    ]);
  });

  it('streams a request body to the server', async () => {
    const { port } = await startProxy({ allow: [`127.0.0.1:${origin}`] });
    const reply = await viaProxy(port, `http://127.0.0.1:${origin}/sum`, {
      method: 'POST',
      body: Readable.from(chunks(40)),
    });
    expect(JSON.parse(reply.body.toString())).toEqual({
      bytes: 40 * 64 * 1024,
      sha: sha256(Buffer.concat([...chunks(40)])),
    });
  });

  it('forwards method, path and end-to-end headers, drops hop-by-hop ones, sets Host from the target', async () => {
    const { port } = await startProxy({ allow: [`127.0.0.1:${origin}`] });
    const reply = await viaProxy(port, `http://127.0.0.1:${origin}/echo?q=1`, {
      method: 'DELETE',
      headers: {
        host: 'other.example',
        'proxy-authorization': 'Basic c2VjcmV0',
        'proxy-connection': 'keep-alive',
        connection: 'keep-alive, x-client-hop',
        'x-client-hop': 'secret',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'x-end-to-end': 'kept',
      },
    });
    const seen = JSON.parse(reply.body.toString()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
    };
    expect(seen.method).toBe('DELETE');
    expect(seen.url).toBe('/echo?q=1');
    expect(seen.headers.host).toBe(`127.0.0.1:${origin}`);
    expect(seen.headers['x-end-to-end']).toBe('kept');
    for (const h of ['proxy-authorization', 'proxy-connection', 'x-client-hop', 'keep-alive', 'te']) {
      expect(seen.headers[h], h).toBeUndefined();
    }
    expect(reply.headers['x-upstream-hop']).toBeUndefined();
    expect(reply.headers['content-type']).toBe('application/json');
  });

  it('serves two requests on one kept-alive client connection', async () => {
    const { port, decisions } = await startProxy({ allow: [`127.0.0.1:${origin}`] });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await viaProxy(port, `http://127.0.0.1:${origin}/echo`, { agent });
      const second = await viaProxy(port, `http://127.0.0.1:${origin}/sum`, {
        agent,
        method: 'POST',
        headers: { 'content-length': '5' },
        body: Readable.from([Buffer.from('hello')]),
      });
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.reused).toBe(true);
      expect(JSON.parse(second.body.toString())).toMatchObject({ bytes: 5 });
      expect(decisions).toHaveLength(2);
    } finally {
      agent.destroy();
    }
  });

  it('refuses with the same statuses as CONNECT and keeps the connection usable', async () => {
    const lookup = fakeDns({ 'meta.good.test': ['169.254.169.254'] });
    const { port } = await startProxy({ allow: ['*.good.test', `127.0.0.1:${origin}`], lookup });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const denied = await viaProxy(port, 'http://evil.example.com/', { agent });
      expect(denied.status).toBe(403);
      expect(denied.headers['x-remote-claude-egress']).toBe('denied');
      expect(denied.body.toString()).toMatch(/evil\.example\.com:80 is not on the allowlist/);
      const metadata = await viaProxy(port, 'http://meta.good.test/latest/meta-data/', { agent });
      expect(metadata.status).toBe(403);
      expect(metadata.body.toString()).toMatch(
        /meta\.good\.test:80 resolves to 169\.254\.169\.254, a link-local/,
      );
      expect((await viaProxy(port, 'http://unknown.good.test/', { agent })).status).toBe(502);
      const fine = await viaProxy(port, `http://127.0.0.1:${origin}/echo`, { agent });
      expect(fine.status).toBe(200);
      expect(fine.reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('answers 400 to origin-form and https:// requests', async () => {
    const { port } = await startProxy({ allow: [`127.0.0.1:${origin}`] });
    const origin400 = await exchange(
      port,
      'GET /path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    expect(origin400).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(origin400).toMatch(/requests must name an absolute http:\/\/ URL/);
    const https400 = await exchange(
      port,
      'GET https://github.com/ HTTP/1.1\r\nHost: github.com\r\nConnection: close\r\n\r\n',
    );
    expect(https400).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(https400).toMatch(/https:\/\/ targets go through CONNECT/);
  });

  it('answers 400 to garbage, closes, and keeps serving', async () => {
    const { port } = await startProxy({ allow: [`127.0.0.1:${origin}`] });
    for (const garbage of [
      '\x00\x01\x02 hello\r\n\r\n',
      'GET http://x/ HTTP/9.9 extra\r\n\r\n',
      `${'A'.repeat(70_000)}`,
    ]) {
      const reply = await exchange(port, garbage);
      expect(reply).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(reply).toMatch(/x-remote-claude-egress: error/);
    }
    expect((await viaProxy(port, `http://127.0.0.1:${origin}/echo`)).status).toBe(200);
  });
});

describe('EgressProxy over a Duplex stream', () => {
  it('serves plain HTTP and CONNECT on in-memory streams, reporting the workspace', async () => {
    const origin = await originPort();
    const echo = await echoPort();
    const decisions: EgressDecision[] = [];
    const proxy = new EgressProxy({
      allow: [`127.0.0.1:${origin}`, `127.0.0.1:${echo}`],
      onDecision: (d) => decisions.push(d),
    });
    proxies.push(proxy);

    const [client, server] = duplexPair();
    proxy.handle(server, { workspaceId: 'ws-1' });
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({
        path: `http://127.0.0.1:${origin}/echo`,
        headers: { host: `127.0.0.1:${origin}` },
        createConnection: () => client as net.Socket,
      });
      req.on('error', reject);
      req.on('response', async (res) => resolve({ status: res.statusCode ?? 0, body: await readAll(res) }));
      req.end();
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ url: '/echo' });

    const [tunnelClient, tunnelServer] = duplexPair();
    proxy.handle(tunnelServer, { workspaceId: 'ws-2' });
    tunnelClient.write(`CONNECT 127.0.0.1:${echo} HTTP/1.1\r\nHost: 127.0.0.1:${echo}\r\n\r\n`);
    expect((await readHead(tunnelClient)).status).toBe(200);
    tunnelClient.end('through memory');
    expect(await readAll(tunnelClient)).toBe('through memory');

    const [deniedClient, deniedServer] = duplexPair();
    proxy.handle(deniedServer, { workspaceId: 'ws-3' });
    deniedClient.write('CONNECT 169.254.169.254:80 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await readAll(deniedClient)).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);

    expect(decisions.map((d) => [d.workspaceId, d.method, d.allowed])).toEqual([
      ['ws-1', 'HTTP', true],
      ['ws-2', 'CONNECT', true],
      ['ws-3', 'CONNECT', false],
    ]);
  });

  it('destroys open streams on close and any stream handed in afterwards', async () => {
    const proxy = new EgressProxy({ allow: [] });
    const [, server] = duplexPair();
    proxy.handle(server);
    await proxy.close();
    expect(server.destroyed).toBe(true);
    const [, late] = duplexPair();
    proxy.handle(late);
    expect(late.destroyed).toBe(true);
  });
});

// Real clients. Their environment is built from scratch, so no proxy or NO_PROXY setting of the
// machine running the tests changes which requests reach the proxy.
function clientEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
}

describe.skipIf(!hasCurl)('EgressProxy with curl', () => {
  it('is used for 127.0.0.1, localhost and a mapped name, plainly and through CONNECT', async () => {
    const origin = await originPort();
    const lookup = fakeDns({ localhost: ['127.0.0.1'], 'git.test': ['127.0.0.1'] });
    const allow = [`127.0.0.1:${origin}`, `localhost:${origin}`, `git.test:${origin}`];
    const { port, decisions } = await startProxy({ allow, lookup });
    const curl = (...args: string[]) =>
      run('curl', ['-sS', '-f', '-x', `http://127.0.0.1:${port}`, ...args], {
        env: clientEnv(tmpdir()),
        timeout: 10_000,
      });
    for (const host of ['127.0.0.1', 'localhost', 'git.test']) {
      const plain = await curl(`http://${host}:${origin}/echo`);
      expect(JSON.parse(plain.stdout)).toMatchObject({ headers: { host: `${host}:${origin}` } });
      const tunnelled = await curl('--proxytunnel', `http://${host}:${origin}/echo`);
      expect(JSON.parse(tunnelled.stdout)).toMatchObject({ url: '/echo' });
    }
    expect(decisions.map((d) => `${d.method} ${d.host} ${d.allowed}`)).toEqual([
      'HTTP 127.0.0.1 true',
      'CONNECT 127.0.0.1 true',
      'HTTP localhost true',
      'CONNECT localhost true',
      'HTTP git.test true',
      'CONNECT git.test true',
    ]);
    const denied = await curl('--proxytunnel', 'http://evil.example.com/').catch(
      (e: { stderr: string }) => e,
    );
    // With -f, curl 7.88 reports a refused CONNECT as exit 22; without it, as "CONNECT tunnel failed".
    expect(denied.stderr).toMatch(/returned error: 403|CONNECT tunnel failed, response 403/);
  });
});

describe.skipIf(!hasGit)('EgressProxy with git', () => {
  let git: Awaited<ReturnType<typeof startGitHttpServer>>;
  let home: string;
  beforeAll(async () => {
    git = await startGitHttpServer({
      repos: { app: { 'README.md': 'hello from app\n', 'src/main.ts': 'export {};\n' } },
    });
    home = await mkdtemp(join(tmpdir(), 'rc-egress-git-'));
  });
  afterAll(async () => {
    await git?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('clones over dumb HTTP through the proxy, by loopback address and by a mapped name', async () => {
    const lookup = fakeDns({ 'git.test': ['127.0.0.1'] });
    const allow = [`127.0.0.1:${git.port}`, `git.test:${git.port}`];
    const { port, decisions } = await startProxy({ allow, lookup });
    const urls = [git.url('app'), git.url('app').replace('127.0.0.1', 'git.test')];
    for (const [i, url] of urls.entries()) {
      const dest = join(home, `clone-${i}`);
      await run('git', ['-c', `http.proxy=http://127.0.0.1:${port}`, 'clone', '--quiet', url, dest], {
        env: clientEnv(home),
        timeout: 30_000,
      });
      expect(await readFile(join(dest, 'README.md'), 'utf8')).toBe('hello from app\n');
      expect(await readFile(join(dest, 'src/main.ts'), 'utf8')).toBe('export {};\n');
    }
    const hosts = new Set(decisions.map((d) => `${d.method} ${d.host}:${d.port} ${d.allowed}`));
    expect(hosts).toEqual(new Set([`HTTP 127.0.0.1:${git.port} true`, `HTTP git.test:${git.port} true`]));
  });

  it('is refused for a repository host that is not on the allowlist', async () => {
    const { port } = await startProxy({ allow: ['github.com'] });
    const err = await run(
      'git',
      ['-c', `http.proxy=http://127.0.0.1:${port}`, 'clone', git.url('app'), join(home, 'x')],
      {
        env: clientEnv(home),
        timeout: 30_000,
      },
    ).catch((e: { stderr: string }) => e);
    expect(err.stderr).toMatch(/403/);
  });

  it('serves 404 for unknown paths', async () => {
    const res = await fetch(`http://127.0.0.1:${git.port}/nope.git/info/refs`);
    expect(res.status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${git.port}/../../etc/passwd`)).status).toBe(404);
  });
});
