// A scripted Anthropic Messages API for tests (https://docs.anthropic.com/en/api/messages and
// .../messages-streaming). The real claude CLI talks to it through ANTHROPIC_BASE_URL and plays
// scenarios: "call Write with X, then Bash with Y, then answer Z".
//
// The stub keeps no conversation state. The scenario is named by a `[scenario:NAME]` tag in the
// first user message of the request, and the turn is the number of assistant messages already in
// it, so concurrent conversations and `--resume`d sessions each get the right answer. A request that
// offers no tools is not the agent loop but a side request (Claude Code has used tool-less calls for
// quota checks and title generation; 2.1.330 in `-p` mode sent none in our runs): it gets a short
// canned answer and never consumes a turn. A session run with `--tools ""` would look the same.
// docs/claudeCodeProtocol.md lists what the CLI sends.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type StubBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string };

export interface StubUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export interface StubTurn {
  /** The assistant message. */
  content?: StubBlock[];
  /** Default: `tool_use` if any block is a tool_use, else `end_turn`. */
  stopReason?: 'end_turn' | 'tool_use' | 'max_tokens';
  /** Wait this long before answering. */
  delayMs?: number;
  /** Wait this long between SSE events, e.g. to interrupt a turn mid-stream. */
  chunkDelayMs?: number;
  /**
   * Answer with an Anthropic error body instead (e.g. 529 overloaded_error, 429 rate_limit_error).
   * `times` limits it to the first N requests for this scenario turn, after which the turn's content
   * is played; this is the only state the stub keeps, so a retry can be made to succeed.
   */
  error?: { status: number; type: string; message: string; times?: number };
  /** Default: input from the request size, output from the content size. */
  usage?: StubUsage;
}

export interface Scenario {
  turns: StubTurn[];
}

/** Claude writes `content` to `/workspace/<file>` with its Write tool, then says "Done.". */
export function writeFileScenario(file: string, content: string): Scenario {
  return {
    turns: [
      { content: [{ type: 'tool_use', name: 'Write', input: { file_path: `/workspace/${file}`, content } }] },
      { content: [{ type: 'text', text: 'Done.' }] },
    ],
  };
}

export interface RecordedRequest {
  at: number;
  method: string;
  /** Path with query, e.g. `/v1/messages?beta=true`. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, the raw text if it is not JSON, or undefined if empty. */
  body: unknown;
  apiKey: string | undefined;
  /** True for a Messages request of the agent loop (it offers tools); false for everything else. */
  main: boolean;
  scenario?: string;
  turn?: number;
}

export interface ModelStub {
  /** Base URL for ANTHROPIC_BASE_URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  setScenario(name: string, s: Scenario): void;
  /** Stops listening, drops open streams and resolves when the server is closed. */
  close(): Promise<void>;
}

export interface ModelStubOptions {
  scenarios?: Record<string, Scenario>;
  /** When set, a request with any other key gets 401 authentication_error. */
  expectedApiKey?: string;
}

interface MessagesRequest {
  model?: unknown;
  stream?: unknown;
  tools?: unknown;
  messages?: unknown;
}

type ApiMessage = { role?: unknown; content?: unknown };

/** Answer to every side request: harmless as a title, a topic or a quota probe. */
const AUX_TEXT = 'ok';
const SCENARIO_TAG = /\[scenario:([A-Za-z0-9_.-]+)\]/;

export async function startModelStub(opts: ModelStubOptions = {}): Promise<ModelStub> {
  const scenarios = new Map(Object.entries(opts.scenarios ?? {}));
  const requests: RecordedRequest[] = [];
  // How many errors each `scenario#turn` has answered, for StubTurn.error.times.
  const errorsServed = new Map<string, number>();
  const closing = new AbortController();
  let messageCount = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const pathname = path.split('?')[0];
      const apiKey = keyOf(req.headers);
      const body = parseBody(raw);
      const record: RecordedRequest = {
        at: Date.now(),
        method: req.method ?? 'GET',
        path,
        headers: { ...req.headers },
        body,
        apiKey,
        main: false,
      };
      requests.push(record);
      const requestId = `req_stub_${requests.length}`;
      res.setHeader('request-id', requestId);

      const isMessages = req.method === 'POST' && pathname === '/v1/messages';
      const isCount = req.method === 'POST' && pathname === '/v1/messages/count_tokens';
      if (!isMessages && !isCount) {
        return sendError(
          res,
          404,
          'not_found_error',
          `No route for ${record.method} ${pathname}.`,
          requestId,
        );
      }
      if (opts.expectedApiKey !== undefined && apiKey !== opts.expectedApiKey) {
        return sendError(res, 401, 'authentication_error', 'invalid x-api-key', requestId);
      }
      if (typeof body !== 'object' || body === null) {
        return sendError(res, 400, 'invalid_request_error', 'The request body is not JSON.', requestId);
      }
      const request = body as MessagesRequest;
      if (isCount) {
        return sendJson(res, 200, { input_tokens: estimateTokens(raw) });
      }

      const turn = pickTurn(request, record, scenarios, errorsServed);
      messageCount += 1;
      const aborted = abortOn(res, closing.signal);
      void answer(res, {
        turn,
        id: `msg_stub_${messageCount}`,
        toolIdPrefix: `toolu_stub_${messageCount}`,
        model: typeof request.model === 'string' ? request.model : 'claude-stub',
        stream: request.stream === true,
        inputTokens: estimateTokens(raw),
        requestId,
        signal: aborted,
      }).catch(() => res.destroy());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setScenario(name, s) {
      scenarios.set(name, s);
    },
    close() {
      closing.abort();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/**
 * The turn that answers a Messages request, statelessly: the agent loop is told apart from side
 * requests by its tools, the scenario by the tag, the turn by the assistant messages so far.
 * Fills in `record.main`, `.scenario` and `.turn`.
 */
function pickTurn(
  request: MessagesRequest,
  record: RecordedRequest,
  scenarios: Map<string, Scenario>,
  errorsServed: Map<string, number>,
): StubTurn {
  const say = (text: string): StubTurn => ({ content: [{ type: 'text', text }] });
  record.main = Array.isArray(request.tools) && request.tools.length > 0;
  if (!record.main) return say(AUX_TEXT);
  const messages = Array.isArray(request.messages) ? (request.messages as ApiMessage[]) : [];
  const index = messages.filter((m) => m.role === 'assistant').length;
  record.turn = index;
  const name = scenarioName(messages);
  if (name === undefined) return say('ok');
  record.scenario = name;
  const scenario = scenarios.get(name);
  if (!scenario) return say(`stub: no scenario named "${name}"`);
  const turn = scenario.turns[index] ?? say('done');
  if (turn.error?.times === undefined) return turn;
  const key = `${name}#${index}`;
  const served = errorsServed.get(key) ?? 0;
  if (served >= turn.error.times) return { ...turn, error: undefined };
  errorsServed.set(key, served + 1);
  return turn;
}

interface AnswerArgs {
  turn: StubTurn;
  id: string;
  toolIdPrefix: string;
  model: string;
  stream: boolean;
  inputTokens: number;
  requestId: string;
  signal: AbortSignal;
}

async function answer(res: http.ServerResponse, a: AnswerArgs): Promise<void> {
  const { turn } = a;
  if (turn.delayMs) await sleep(turn.delayMs, a.signal);
  if (a.signal.aborted) return;
  if (turn.error) {
    return sendError(res, turn.error.status, turn.error.type, turn.error.message, a.requestId);
  }

  const content = (turn.content ?? []).map((b, i) =>
    b.type === 'tool_use' ? { ...b, id: b.id ?? `${a.toolIdPrefix}_${i}` } : b,
  );
  const stopReason =
    turn.stopReason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  const usage = {
    input_tokens: turn.usage?.input_tokens ?? a.inputTokens,
    cache_creation_input_tokens: turn.usage?.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: turn.usage?.cache_read_input_tokens ?? 0,
    output_tokens: turn.usage?.output_tokens ?? Math.max(1, estimateTokens(JSON.stringify(content))),
  };
  const message = { id: a.id, type: 'message', role: 'assistant', model: a.model };

  if (!a.stream) {
    const apiContent = content.map((b) =>
      b.type === 'text' ? b : { type: 'tool_use', id: b.id, name: b.name, input: b.input },
    );
    return sendJson(res, 200, {
      ...message,
      content: apiContent,
      stop_reason: stopReason,
      stop_sequence: null,
      usage,
    });
  }

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const events = sseEvents(message, content, stopReason, usage);
  for (const [i, event] of events.entries()) {
    if (i > 0 && turn.chunkDelayMs) await sleep(turn.chunkDelayMs, a.signal);
    if (a.signal.aborted) return;
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }
  res.end();
}

type SseEvent = { type: string } & Record<string, unknown>;

/** The event sequence of a streamed message, as the real API sends it. */
function sseEvents(
  message: Record<string, unknown>,
  content: Array<
    { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: object }
  >,
  stopReason: string,
  usage: Required<StubUsage>,
): SseEvent[] {
  const events: SseEvent[] = [
    {
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    },
    { type: 'ping' },
  ];
  for (const [index, block] of content.entries()) {
    if (block.type === 'text') {
      events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      for (const part of split(block.text, 3)) {
        events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: part } });
      }
    } else {
      events.push({
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
      });
      for (const part of split(JSON.stringify(block.input), 3)) {
        events.push({
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: part },
        });
      }
    }
    events.push({ type: 'content_block_stop', index });
  }
  events.push(
    {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    },
    { type: 'message_stop' },
  );
  return events;
}

/** Splits text into up to `parts` non-empty pieces (one piece for short text). */
function split(text: string, parts: number): string[] {
  if (text.length < parts * 2) return [text];
  const size = Math.ceil(text.length / parts);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** The `[scenario:NAME]` tag in the first user message, in string or text-block content. */
function scenarioName(messages: ApiMessage[]): string | undefined {
  const first = messages.find((m) => m.role === 'user');
  if (!first) return undefined;
  const texts =
    typeof first.content === 'string'
      ? [first.content]
      : Array.isArray(first.content)
        ? first.content
            .map((b: { type?: unknown; text?: unknown }) => (b?.type === 'text' ? b.text : undefined))
            .filter((t): t is string => typeof t === 'string')
        : [];
  for (const text of texts) {
    const match = SCENARIO_TAG.exec(text);
    if (match) return match[1];
  }
  return undefined;
}

function keyOf(headers: http.IncomingHttpHeaders): string | undefined {
  const key = headers['x-api-key'];
  if (typeof key === 'string') return key;
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.toLowerCase().startsWith('bearer ')) return auth.slice(7);
  return undefined;
}

function parseBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** A deterministic stand-in for a tokenizer: about four characters a token. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Anthropic's error shape: https://docs.anthropic.com/en/api/errors */
function sendError(
  res: http.ServerResponse,
  status: number,
  type: string,
  message: string,
  requestId: string,
) {
  sendJson(res, status, { type: 'error', error: { type, message }, request_id: requestId });
}

/** A signal that fires when the client goes away or the stub closes. */
function abortOn(res: http.ServerResponse, closing: AbortSignal): AbortSignal {
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  return AbortSignal.any([gone.signal, closing]);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
