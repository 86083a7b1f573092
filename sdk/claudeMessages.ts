// The one model of a task's event log: Claude Code's stream-json output lines (as the CLI 2.1.3xx
// prints them, docs/claudeCodeProtocol.md) and the platform's own rc_* lines. The control plane
// (server/tasks/taskIngest.ts), the CLI (cli/taskOutput.ts) and the web UI
// (web/pages/TaskView/conversation.ts) all read events through `parseClaudeMessage`.
//
// It is tolerant, because Claude Code adds and renames fields between versions: objects keep the
// fields this model does not name, a named field that is optional and malformed is dropped rather
// than failing its message (`soft`), a content block of a kind not modelled becomes an `unknown`
// block, and a message of an unknown type, or malformed in a field it cannot do without, becomes
// the `unknown` variant carrying the raw value. Nothing here throws.
//
// Written with zod/mini, whose functions tree-shake, so the web UI's TaskView chunk gains a few KB
// rather than all of zod.
import * as z from 'zod/mini';

/** An optional field that is dropped (undefined) when malformed instead of failing its message. */
function soft<T extends z.ZodMiniType>(schema: T) {
  return z.catch(z.optional(schema), undefined);
}

const str = () => soft(z.string());
const num = () => soft(z.number());
const bool = () => soft(z.boolean());

const TextBlock = z.looseObject({ type: z.literal('text'), text: z.string() });
const ThinkingBlock = z.looseObject({ type: z.literal('thinking'), thinking: z.string() });
const RedactedThinkingBlock = z.looseObject({ type: z.literal('redacted_thinking') });
const ImageBlock = z.looseObject({ type: z.literal('image'), source: z.unknown() });
const ToolUseBlock = z.looseObject({
  type: z.literal('tool_use'),
  // The CLI always sends one; without it the call is still shown, only no result pairs with it.
  id: str(),
  name: z.string(),
  input: z.unknown(),
});
/** A block this model does not know (or a known one malformed), kept whole. */
const UnknownBlock = z.object({ type: z.literal('unknown'), raw: z.unknown() });

/** A content block of a kind this model lists, or else an `unknown` block with the raw value. */
function tolerant<T extends z.ZodMiniType[]>(...known: T) {
  const union = z.union([...known, UnknownBlock]);
  // The fallback is an UnknownBlock, which TypeScript cannot see is in a union of generic members.
  return z.catch(union, (ctx) => ({ type: 'unknown', raw: ctx.value }) as z.output<typeof union>);
}

const ToolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: soft(z.union([z.string(), z.array(tolerant(TextBlock, ImageBlock))])),
  is_error: bool(),
});
const ContentBlock = tolerant(
  TextBlock,
  ThinkingBlock,
  RedactedThinkingBlock,
  ToolUseBlock,
  ToolResultBlock,
  ImageBlock,
);
export type ContentBlock = z.output<typeof ContentBlock>;

const Usage = z.looseObject({ input_tokens: num(), output_tokens: num() });

/** Fields every Claude Code output line may carry. */
const common = {
  session_id: str(),
  uuid: str(),
  parent_tool_use_id: soft(z.nullable(z.string())),
};

const SystemInit = z.looseObject({
  ...common,
  type: z.literal('system'),
  subtype: z.literal('init'),
  // Optional like every field the renderers only show: the CLI always sends it, and the ingest
  // stores it only when it is there.
  session_id: str(),
  cwd: str(),
  model: str(),
  tools: soft(z.array(z.string())),
  permissionMode: str(),
  apiKeySource: str(),
  claude_code_version: str(),
});

/** Every other system line: status, api_retry, compact_boundary, task_started, …. */
const SystemMessage = z.looseObject({
  ...common,
  type: z.literal('system'),
  subtype: z.string(),
  status: soft(z.nullable(z.string())),
  attempt: num(),
  max_retries: num(),
  retry_delay_ms: num(),
  error_status: soft(z.nullable(z.number())),
  error: str(),
});

const AssistantMessage = z.looseObject({
  ...common,
  type: z.literal('assistant'),
  message: z.looseObject({
    id: str(),
    model: str(),
    content: z.array(ContentBlock),
    usage: soft(Usage),
  }),
  /** The text streamed so far when a turn was interrupted. */
  aborted: bool(),
  /** Set on the synthetic message an API failure ends with. */
  error: str(),
  is_api_error_message: bool(),
  api_error_status: soft(z.nullable(z.number())),
});

const ToolResultMeta = z.looseObject({
  id: z.string(),
  permission_decision: soft(z.looseObject({ decision: str() })),
});

const UserMessage = z.looseObject({
  ...common,
  type: z.literal('user'),
  message: z.looseObject({
    role: str(),
    content: z.union([z.string(), z.array(ContentBlock)]),
  }),
  tool_use_result: z.optional(z.unknown()),
  tool_result_meta: soft(z.array(ToolResultMeta)),
  /** An echo of a line we sent (--replay-user-messages). */
  isReplay: bool(),
});

const ResultMessage = z.looseObject({
  ...common,
  type: z.literal('result'),
  subtype: str(),
  is_error: bool(),
  result: str(),
  num_turns: num(),
  duration_ms: num(),
  duration_api_ms: num(),
  /** Cumulative over the session (also across --resume); a turn's cost is a difference. */
  total_cost_usd: num(),
  usage: soft(Usage),
  terminal_reason: str(),
  stop_reason: soft(z.nullable(z.string())),
  errors: soft(z.array(z.string())),
  permission_denials: soft(z.array(z.unknown())),
});

/** A `can_use_tool` question: Claude Code waits for our control_response. */
const ApprovalRequest = z.looseObject({
  type: z.literal('control_request'),
  request_id: z.string(),
  request: z.looseObject({
    subtype: z.literal('can_use_tool'),
    tool_name: z.string(),
    input: soft(z.record(z.string(), z.unknown())),
    tool_use_id: str(),
  }),
});

const ControlRequest = z.looseObject({
  type: z.literal('control_request'),
  request_id: z.string(),
  request: z.looseObject({ subtype: z.string() }),
});

/** An interrupt's ack, or the echo of an approval answer we sent. */
const ControlResponse = z.looseObject({
  type: z.literal('control_response'),
  response: z.looseObject({
    subtype: z.string(),
    request_id: str(),
    response: soft(z.looseObject({ behavior: str() })),
    error: str(),
  }),
});

/** Claude Code withdrew a question (the turn was interrupted while it waited). */
const ControlCancelRequest = z.looseObject({
  type: z.literal('control_cancel_request'),
  request_id: z.string(),
});

/** One raw Messages-API SSE event, with --include-partial-messages. */
const StreamEvent = z.looseObject({
  ...common,
  type: z.literal('stream_event'),
  event: z.looseObject({ type: z.string() }),
});

/** The agent's line when the claude process ended (agent/tasks/taskRunner.ts). */
const RcExit = z.looseObject({
  type: z.literal('rc_exit'),
  exitCode: soft(z.nullable(z.number())),
  signal: soft(z.nullable(z.string())),
  stderrTail: str(),
});

/** The agent's stand-in for a line too large to send (agent/tasks/eventLine.ts). */
const RcOversized = z.looseObject({
  type: z.literal('rc_oversized'),
  bytes: num(),
  originalType: str(),
  head: str(),
});

const schemas = {
  init: SystemInit,
  system: SystemMessage,
  assistant: AssistantMessage,
  user: UserMessage,
  result: ResultMessage,
  approval_request: ApprovalRequest,
  control_request: ControlRequest,
  control_response: ControlResponse,
  control_cancel_request: ControlCancelRequest,
  stream_event: StreamEvent,
  rc_exit: RcExit,
  rc_oversized: RcOversized,
};
type Known = { [K in keyof typeof schemas]: { kind: K; data: z.output<(typeof schemas)[K]> } };
export type KnownKind = keyof typeof schemas;

/**
 * A parsed line. `kind` is the message's `type`, except that system/init is `init` and a
 * `can_use_tool` control_request is `approval_request`, so each kind has one shape.
 */
export type ClaudeMessage = Known[KnownKind] | { kind: 'unknown'; raw: unknown; reason: string };
export type MessageOf<K extends KnownKind> = Known[K]['data'];

/** The kinds whose name is the message's `type`. */
const SAME_NAME: readonly KnownKind[] = [
  'assistant',
  'user',
  'result',
  'control_response',
  'control_cancel_request',
  'stream_event',
  'rc_exit',
  'rc_oversized',
];

/** The `type` values this model knows: what the event log stores as an event's type. */
export const MESSAGE_TYPES: ReadonlySet<string> = new Set(['system', 'control_request', ...SAME_NAME]);

function kindOf(m: Record<string, unknown>): KnownKind | undefined {
  if (m.type === 'system') return m.subtype === 'init' ? 'init' : 'system';
  if (m.type === 'control_request') {
    const request = m.request as { subtype?: unknown } | null | undefined;
    return request?.subtype === 'can_use_tool' ? 'approval_request' : 'control_request';
  }
  return SAME_NAME.find((k) => k === m.type);
}

/** Parses one message (a JSON value). Never throws. */
export function parseClaudeMessage(raw: unknown): ClaudeMessage {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { kind: 'unknown', raw, reason: 'not a JSON object' };
  const m = raw as Record<string, unknown>;
  const kind = kindOf(m);
  if (!kind) return { kind: 'unknown', raw, reason: `unknown type ${JSON.stringify(m.type)}` };
  const parsed = schemas[kind].safeParse(raw);
  if (parsed.success) return { kind, data: parsed.data } as ClaudeMessage;
  const issue = parsed.error.issues[0];
  return {
    kind: 'unknown',
    raw,
    reason: `${kind}: ${issue?.path.join('.') || '(message)'} ${issue?.message ?? 'is malformed'}`,
  };
}

/** Parses one output line. Never throws; a line that is not JSON is `unknown` with the text. */
export function parseClaudeLine(line: string): ClaudeMessage {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { kind: 'unknown', raw: line, reason: 'not JSON' };
  }
  return parseClaudeMessage(json);
}

/**
 * Parses a stored event: the event log keeps the message's type beside its payload, and that type
 * is what a payload without one of its own (an older row, a hand-made event) is read as.
 */
export function parseTaskEvent(e: { type: string; payload: unknown }): ClaudeMessage {
  const p = e.payload;
  if (typeof p === 'object' && p !== null && !Array.isArray(p) && !('type' in p))
    return parseClaudeMessage({ ...p, type: e.type });
  return parseClaudeMessage(p);
}
