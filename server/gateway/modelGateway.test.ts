// The model gateway over real HTTP: a fake Messages API on loopback records what reaches it (the
// key above all), and clients reach the gateway over TCP or over an in-memory Duplex the way the
// agent channel hands streams in.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Duplex, Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WORKSPACE_API_KEY_PLACEHOLDER } from '../../sdk/agentProtocol.js';
import { startModelStub } from '../../test/support/modelStub.js';
import { openTestDb, type TestDb } from '../../test/support/testDb.js';
import { ManualClock } from '../clock.js';
import { loadConfig } from '../config/loadConfig.js';
import { SecretStore } from '../store/secretStore.js';
import { SettingStore } from '../store/settingStore.js';
import { type UsageRecordInput, UsageStore } from '../store/usageStore.js';
import { UserStore } from '../store/userStore.js';
import { BudgetGuard } from './budgetGuard.js';
import { createCredentialResolver } from './credentialResolver.js';
import {
  type GatewayAttribution,
  ModelGateway,
  type ModelGatewayOptions,
  NO_KEY_MESSAGE,
} from './modelGateway.js';
import { costUsd } from './pricing.js';

const ORG_KEY = 'sk-ant-org-0000000000000000000000000000';
const USER_KEY = 'sk-ant-user-1111111111111111111111111111';
const prices = loadConfig({ env: {} }).gateway.prices;

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A fake upstream: every request is recorded, then answered by `handler` (set per test). */
class FakeUpstream {
  readonly seen: Seen[] = [];
  handler = FakeUpstream.answerEmpty;
  /** Called when request headers arrive, before the body is read. */
  onHeaders: (req: http.IncomingMessage) => void = () => {};
  static answerEmpty(_req: http.IncomingMessage, res: http.ServerResponse, _body: Buffer): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  }
  private readonly server = http.createServer((req, res) => {
    this.onHeaders(req);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      this.handler(req, res, body);
    });
  });
  url = '';

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const sseEvent = (type: string, data: object) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** A streamed answer, as the Messages API sends it; the text has multi-byte characters to split. */
const SSE_HEAD = sseEvent('message_start', {
  message: {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content: [],
    usage: {
      input_tokens: 1200,
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 30000,
      output_tokens: 1,
    },
  },
});
const SSE_REST = [
  sseEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  sseEvent('ping', {}),
  sseEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Grüße — ✓ done' } }),
  sseEvent('content_block_stop', { index: 0 }),
  sseEvent('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 345 } }),
  sseEvent('message_stop', {}),
].join('');
const SSE_USAGE = { inputTokens: 1200, outputTokens: 345, cacheCreationTokens: 2000, cacheReadTokens: 30000 };

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

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function collect(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
    );
  });
}

describe('ModelGateway', () => {
  const upstream = new FakeUpstream();
  let logs: string[];
  let records: UsageRecordInput[];
  let recordWaiters: ((r: UsageRecordInput) => void)[];
  let gateway: ModelGateway;
  let port: number;
  let attributions: string[];

  beforeAll(() => upstream.start());
  afterAll(() => upstream.close());
  afterEach(async () => {
    await gateway?.close();
    // Whatever a test did, no key may reach a log line.
    const all = logs.join('\n');
    expect(all).not.toContain(ORG_KEY);
    expect(all).not.toContain(USER_KEY);
    upstream.seen.length = 0;
    upstream.onHeaders = () => {};
    upstream.handler = FakeUpstream.answerEmpty;
  });

  /** The next usage row the gateway records. */
  const nextRecord = () => new Promise<UsageRecordInput>((resolve) => recordWaiters.push(resolve));

  async function start(opts: Partial<ModelGatewayOptions> = {}, workspaceId = 'ws-1'): Promise<void> {
    logs = [];
    records = [];
    recordWaiters = [];
    attributions = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    });
    gateway = new ModelGateway({
      upstream: upstream.url,
      attribute: async (id) => {
        attributions.push(id);
        return { userId: 'user-1', workspaceId: id, taskId: 'task-1' };
      },
      checkBudget: async () => undefined,
      resolveCredential: async () => ORG_KEY,
      record: async (r) => {
        records.push(r);
        recordWaiters.shift()?.(r);
      },
      prices,
      log: pino({ level: 'trace' }, sink),
      ...opts,
    });
    port = await gateway.listen(0, '127.0.0.1', { workspaceId });
  }

  function request(
    path: string,
    opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: opts.method ?? 'POST',
          headers: {
            'content-type': 'application/json',
            'x-api-key': WORKSPACE_API_KEY_PLACEHOLDER,
            'anthropic-version': '2023-06-01',
            ...opts.headers,
          },
          agent: false,
        },
        (res) => collect(res).then(resolve, reject),
      );
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  it('streams SSE through byte for byte, the first event before the upstream finishes, and records the cost', async () => {
    await start();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const rest = Buffer.from(SSE_REST);
    upstream.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_sse_1' });
      res.write(SSE_HEAD);
      // The rest only once the client has seen the first event: a gateway that buffered the
      // response, or parsed it before relaying, would never let this test get that far.
      void released.then(async () => {
        // Odd-sized pieces, cut inside multi-byte characters too.
        for (let i = 0; i < rest.length; i += 7) {
          if (!res.write(rest.subarray(i, i + 7))) await once(res, 'drain');
        }
        res.end();
      });
    };
    const recorded = nextRecord();
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/messages?beta=true',
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-api-key': WORKSPACE_API_KEY_PLACEHOLDER,
            authorization: `Bearer ${WORKSPACE_API_KEY_PLACEHOLDER}`,
            'anthropic-version': '2023-06-01',
            'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14',
            'x-app': 'cli',
          },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            chunks.push(c);
            if (Buffer.concat(chunks).toString().includes('message_start')) release();
          });
          res.on('error', reject);
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'claude-sonnet-4-5', stream: true, messages: [] }));
    });

    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/event-stream');
    expect(reply.headers['request-id']).toBe('req_sse_1');
    expect(reply.body.equals(Buffer.concat([Buffer.from(SSE_HEAD), rest]))).toBe(true);

    const [seen] = upstream.seen;
    expect(seen?.url).toBe('/v1/messages?beta=true');
    expect(seen?.headers['x-api-key']).toBe(ORG_KEY);
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen?.headers['anthropic-beta']).toBe('claude-code-20250219,interleaved-thinking-2025-05-14');
    expect(seen?.headers['x-app']).toBe('cli');
    expect(JSON.stringify(seen?.headers)).not.toContain(WORKSPACE_API_KEY_PLACEHOLDER);
    expect(JSON.parse(seen?.body.toString() ?? '')).toEqual({
      model: 'claude-sonnet-4-5',
      stream: true,
      messages: [],
    });

    const row = await recorded;
    // 1200×3 + 345×15 + 2000×3.75 + 30000×0.3, per million.
    const cost = (1200 * 3 + 345 * 15 + 2000 * 3.75 + 30000 * 0.3) / 1e6;
    expect(row).toEqual({
      userId: 'user-1',
      workspaceId: 'ws-1',
      taskId: 'task-1',
      model: 'claude-sonnet-4-5-20250929',
      ...SSE_USAGE,
      costUsd: expect.closeTo(cost, 12),
      requestId: 'req_sse_1',
    });
    expect(attributions).toEqual(['ws-1']);
  });

  it('relays a JSON answer unchanged and records its usage', async () => {
    await start();
    const body = JSON.stringify({
      id: 'msg_02',
      type: 'message',
      model: 'claude-haiku-4-5-20251001',
      content: [{ type: 'text', text: 'hi' }],
      usage: { input_tokens: 10, output_tokens: 20, cache_read_input_tokens: 0 },
    });
    upstream.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const recorded = nextRecord();
    const reply = await request('/v1/messages', { body: '{"model":"claude-haiku-4-5","messages":[]}' });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe(body);
    expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    const row = await recorded;
    expect(row).toMatchObject({ model: 'claude-haiku-4-5-20251001', inputTokens: 10, outputTokens: 20 });
    expect(row.costUsd).toBeCloseTo(costUsd(row.model, row, prices), 12);
    expect(row.costUsd).toBeCloseTo((10 * 1 + 20 * 5) / 1e6, 12);
  });

  it('passes upstream errors through and records nothing for them', async () => {
    await start();
    const body = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}';
    upstream.handler = (_req, res) => {
      res.writeHead(529, { 'content-type': 'application/json' });
      res.end(body);
    };
    const reply = await request('/v1/messages', { body: '{}' });
    expect(reply.status).toBe(529);
    expect(reply.body.toString()).toBe(body);
    await gateway.close();
    expect(records).toEqual([]);
  });

  it('relays a large request body as it arrives, without waiting for its end', async () => {
    await start();
    let headersSeen!: () => void;
    const upstreamHasHeaders = new Promise<void>((resolve) => {
      headersSeen = resolve;
    });
    upstream.onHeaders = () => headersSeen();
    const part = Buffer.alloc(4 * 1024 * 1024, 'a');
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/messages',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': WORKSPACE_API_KEY_PLACEHOLDER },
          agent: false,
        },
        (res) => collect(res).then(resolve, reject),
      );
      req.on('error', reject);
      req.write(part);
      // The second half goes only after the upstream has the request: a gateway that read the
      // whole body before forwarding would wait here forever.
      void upstreamHasHeaders.then(() => req.end(part));
    });
    expect(reply.status).toBe(200);
    expect(upstream.seen[0]?.body.length).toBe(2 * part.length);
  });

  it("uses the user's own saved key before the organisation's, and the organisation's for others", async () => {
    const tdb: TestDb = await openTestDb('sqlite');
    try {
      const clock = new ManualClock();
      const users = new UserStore(tdb.db, clock);
      const ann = await users.create({ email: 'ann@example.test', role: 'member' });
      const bob = await users.create({ email: 'bob@example.test', role: 'member' });
      const secrets = new SecretStore(tdb.db, clock, { settings: new SettingStore(tdb.db, clock) });
      await secrets.put(ann.id, 'anthropic-api-key', USER_KEY);
      const owners: Record<string, string> = { 'ws-ann': ann.id, 'ws-bob': bob.id };
      await start({
        attribute: async (id) => (owners[id] ? { userId: owners[id] as string, workspaceId: id } : undefined),
        resolveCredential: createCredentialResolver({ secrets, orgApiKey: ORG_KEY }),
      });
      const viaDuplex = async (workspaceId: string) => {
        const [client, server] = duplexPair();
        gateway.handle(server, { workspaceId });
        const reply = await new Promise<Reply>((resolve, reject) => {
          const req = http.request(
            {
              path: '/v1/messages',
              method: 'POST',
              headers: { 'x-api-key': WORKSPACE_API_KEY_PLACEHOLDER },
              createConnection: () => client as unknown as import('node:net').Socket,
            },
            (res) => collect(res).then(resolve, reject),
          );
          req.on('error', reject);
          req.end('{}');
        });
        client.destroy();
        return reply;
      };
      expect((await viaDuplex('ws-ann')).status).toBe(200);
      expect((await viaDuplex('ws-bob')).status).toBe(200);
      expect(upstream.seen.map((s) => s.headers['x-api-key'])).toEqual([USER_KEY, ORG_KEY]);

      // A stream from a workspace nobody owns is refused before anything goes upstream.
      const unknown = await viaDuplex('ws-nobody');
      expect(unknown.status).toBe(403);
      expect(JSON.parse(unknown.body.toString())).toMatchObject({
        type: 'error',
        error: { type: 'permission_error' },
      });
      expect(upstream.seen).toHaveLength(2);
    } finally {
      await tdb.cleanup();
    }
  });

  it('answers 401 with the way out when there is no key at all, and never calls the upstream', async () => {
    await start({ resolveCredential: createCredentialResolver({ secrets: { get: async () => undefined } }) });
    const reply = await request('/v1/messages', { body: '{}' });
    expect(reply.status).toBe(401);
    expect(reply.headers['x-should-retry']).toBe('false');
    expect(JSON.parse(reply.body.toString())).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: NO_KEY_MESSAGE },
    });
    expect(NO_KEY_MESSAGE).toContain('PUT /api/v1/me/secrets/anthropic-api-key');
    expect(upstream.seen).toEqual([]);
  });

  it('refuses once the task budget is spent, before any upstream call, with a message that does not retry', async () => {
    const tdb = await openTestDb('sqlite');
    try {
      const clock = new ManualClock();
      const usage = new UsageStore(tdb.db, clock);
      await usage.insert({
        userId: 'user-1',
        workspaceId: 'ws-1',
        taskId: 'task-1',
        model: 'claude-opus-4-5',
        inputTokens: 1,
        outputTokens: 1,
        cacheCreationTokens: 0,
        cacheReadTokens: 0,
        costUsd: 0.51,
      });
      const guard = new BudgetGuard({ usage, clock });
      const attr: GatewayAttribution = {
        userId: 'user-1',
        workspaceId: 'ws-1',
        taskId: 'task-1',
        taskBudgetUsd: 0.5,
      };
      await start({ attribute: async () => attr, checkBudget: (a) => guard.check(a) });
      const reply = await request('/v1/messages', { body: Buffer.alloc(256 * 1024, 'x') });
      expect(reply.status).toBe(400);
      expect(reply.headers['x-should-retry']).toBe('false');
      expect(JSON.parse(reply.body.toString())).toEqual({
        type: 'error',
        error: {
          type: 'invalid_request_error',
          message:
            "Remote Claude: this task's budget of $0.50 is spent ($0.51 used). Raise maxBudgetUsd or start a new task.",
        },
      });
      expect(upstream.seen).toEqual([]);
    } finally {
      await tdb.cleanup();
    }
  });

  it('answers 502 api_error when the upstream cannot be reached', async () => {
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await start({ upstream: `http://127.0.0.1:${deadPort}` });
    const reply = await request('/v1/messages', { body: '{}' });
    expect(reply.status).toBe(502);
    const body = JSON.parse(reply.body.toString());
    expect(body).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(body.error.message).toContain('could not reach the model API');
    expect(body.error.message).toContain('ECONNREFUSED');
  });

  it('relays only the Messages, token counting and models APIs', async () => {
    await start();
    const files = await request('/v1/files', { method: 'GET' });
    expect(files.status).toBe(404);
    expect(JSON.parse(files.body.toString()).error.type).toBe('not_found_error');
    expect((await request('/v1/messages/batches', { body: '{}' })).status).toBe(404);
    expect((await request('/v1/messages/count_tokens', { body: '{}' })).status).toBe(200);
    expect((await request('/v1/models', { method: 'GET' })).status).toBe(200);
    expect(upstream.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /v1/messages/count_tokens',
      'GET /v1/models',
    ]);
  });

  it('stops the upstream request when the client goes away and still records what was used', async () => {
    await start();
    let upstreamClosed!: () => void;
    const closedUpstream = new Promise<void>((resolve) => {
      upstreamClosed = resolve;
    });
    upstream.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(SSE_HEAD);
      res.on('close', () => upstreamClosed());
    };
    const recorded = nextRecord();
    await new Promise<void>((resolve) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/v1/messages', method: 'POST', agent: false },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => {});
      req.end('{}');
    });
    await closedUpstream;
    expect(await recorded).toMatchObject({ inputTokens: 1200, outputTokens: 1 });
  });

  it('works with the scripted model stub', async () => {
    const stub = await startModelStub({ expectedApiKey: ORG_KEY });
    try {
      await start({ upstream: stub.url });
      const recorded = nextRecord();
      const reply = await request('/v1/messages', {
        body: JSON.stringify({
          model: 'claude-opus-4-5-20251101',
          stream: true,
          max_tokens: 100,
          messages: [{ role: 'user', content: 'hello' }],
        }),
      });
      expect(reply.status).toBe(200);
      expect(reply.body.toString()).toContain('event: message_stop');
      expect(stub.requests[0]?.apiKey).toBe(ORG_KEY);
      const row = await recorded;
      expect(row.model).toBe('claude-opus-4-5-20251101');
      expect(row.inputTokens).toBeGreaterThan(0);
      expect(row.outputTokens).toBeGreaterThan(0);
      expect(row.costUsd).toBeCloseTo((row.inputTokens * 5 + row.outputTokens * 25) / 1e6, 12);
    } finally {
      await stub.close();
    }
  });
});
