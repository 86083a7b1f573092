// Turns a task's event log into the rows of its conversation: assistant text, tool calls joined
// with their results and approval questions, turn summaries, and compact rows for the rest.
// Pure, so it is tested on real payloads (conversation.test.ts); events are read through the one
// message model, sdk/claudeMessages.ts (docs/claudeCodeProtocol.md describes the protocol).
import { type MessageOf, parseTaskEvent } from '../../../sdk/claudeMessages.js';
import type { TaskEvent } from '../../../sdk/taskWire.js';
import type { ConvItem, ToolItem } from './convItem.js';
import { contentText, obj, preview } from './narrow.js';

/** Builds the conversation from events in seq order. Never throws on unknown shapes. */
export function buildConversation(events: readonly TaskEvent[]): ConvItem[] {
  const b = new ConversationBuilder();
  for (const e of events) b.add(e);
  return b.snapshot();
}

/**
 * The conversation built up event by event, so a live task costs the new events, not the whole
 * log again. A row that changes (a tool call getting its result) is replaced by an updated copy;
 * rows that did not change keep their identity, and memoised rows skip rendering.
 */
export class ConversationBuilder {
  private readonly items: ConvItem[] = [];
  /** tool_use id → index of its row; approval id → the same. */
  private readonly tools = new Map<string, number>();
  private readonly approvals = new Map<string, number>();
  private readonly lastCost = new Map<string, number>();
  private readonly claimed = new Set<number>();
  private inTurn = false;
  /** The text of the synthetic message an API failure ends with, which its result repeats. */
  private apiErrorText: string | null = null;

  /** The rows so far, as a new array. */
  snapshot(): ConvItem[] {
    return this.items.slice();
  }

  add(e: TaskEvent): void {
    if (e.type === 'raw') {
      this.notice(e.seq, 'dim', 'Output', preview(obj(e.payload).raw ?? e.payload, 400));
      return;
    }
    const m = parseTaskEvent(e);
    const wasInTurn = this.inTurn;
    if (m.kind === 'result' || m.kind === 'rc_exit') this.inTurn = false;
    else if (m.kind === 'init' || m.kind === 'system' || m.kind === 'assistant' || m.kind === 'user')
      this.inTurn = true;
    try {
      switch (m.kind) {
        case 'init':
          this.push(e.seq, 0, {
            kind: 'init',
            model: m.data.model ?? null,
            tools: m.data.tools ?? [],
            cwd: m.data.cwd ?? null,
            permissionMode: m.data.permissionMode ?? null,
          });
          return;
        case 'system':
          this.system(e.seq, m.data);
          return;
        case 'assistant':
          this.assistant(e.seq, m.data);
          return;
        case 'user':
          this.user(e.seq, m.data);
          return;
        case 'result':
          this.result(e.seq, m.data);
          return;
        case 'approval_request':
          this.approvalRequest(e.seq, m.data);
          return;
        case 'control_request':
          this.notice(e.seq, 'dim', `Control request: ${m.data.request.subtype}`, '');
          return;
        case 'control_cancel_request':
          this.controlCancel(e.seq, m.data);
          return;
        case 'control_response':
          this.controlResponse(e.seq, m.data);
          return;
        case 'rc_exit':
          this.push(e.seq, 0, {
            kind: 'exit',
            exitCode: m.data.exitCode ?? null,
            signal: m.data.signal ?? null,
            stderrTail: m.data.stderrTail ?? '',
            midTurn: wasInTurn,
          });
          return;
        case 'rc_oversized':
          this.notice(
            e.seq,
            'warn',
            'Oversized line',
            `${m.data.originalType ?? 'an event'} of ${m.data.bytes ?? '?'} bytes was cut to its start`,
          );
          return;
        case 'stream_event':
          this.notice(e.seq, 'dim', 'Stream', m.data.event.type);
          return;
        case 'unknown':
          this.notice(e.seq, 'dim', unknownLabel(m.raw, e.type), preview(e.payload));
          return;
      }
    } catch {
      // A payload shaped unlike anything above still gets a row, so no seq goes missing.
      this.notice(e.seq, 'dim', e.type, preview(e.payload));
    }
  }

  /** Adds a row; the first row of an event owns its seq. */
  private push(seq: number, index: number, item: DistributiveOmit<ConvItem, 'key' | 'seq' | 'seqs'>): void {
    const row = { ...item, key: index ? `${seq}.${index}` : String(seq), seq, seqs: [] } as ConvItem;
    this.claim(row, seq);
    this.items.push(row);
  }

  /** Shows `seq` in an existing row (a tool result inside its call). */
  private claim(row: ConvItem, seq: number): void {
    if (this.claimed.has(seq)) return;
    this.claimed.add(seq);
    row.seqs.push(seq);
  }

  /** Replaces a tool call's row with an updated copy that also shows `seq`. */
  private updateTool(index: number, seq: number, patch: Partial<ToolItem>): void {
    const current = this.items[index] as ToolItem;
    const next: ToolItem = { ...current, ...patch, seqs: current.seqs.slice() };
    this.claim(next, seq);
    this.items[index] = next;
  }

  private notice(seq: number, tone: 'dim' | 'warn' | 'error', label: string, detail: string): void {
    this.push(seq, 0, { kind: 'notice', tone, label, detail });
  }

  private system(seq: number, p: MessageOf<'system'>): void {
    if (p.subtype === 'api_retry') {
      const detail = `attempt ${p.attempt ?? '?'} of ${p.max_retries ?? '?'}${
        p.error_status ? ` after ${p.error_status}` : ''
      }${p.error ? ` (${p.error})` : ''}`;
      this.notice(seq, 'warn', 'Retrying the model API', detail);
      return;
    }
    this.notice(seq, 'dim', p.subtype ? `System: ${p.subtype}` : 'System', preview(p.status ?? ''));
  }

  private assistant(seq: number, p: MessageOf<'assistant'>): void {
    const aborted = p.aborted === true;
    const apiError = p.is_api_error_message === true;
    let index = 0;
    for (const block of p.message.content) {
      if (block.type === 'text') {
        this.push(seq, index++, { kind: 'text', role: 'assistant', text: block.text, aborted, apiError });
        if (apiError) this.apiErrorText = block.text;
      } else if (block.type === 'thinking') {
        if (block.thinking) this.push(seq, index++, { kind: 'thinking', text: block.thinking });
      } else if (block.type === 'tool_use') {
        const tool: ToolItem = {
          kind: 'tool',
          key: index ? `${seq}.${index}` : String(seq),
          seq,
          seqs: [],
          toolUseId: block.id ?? '',
          name: block.name,
          input: block.input,
          result: null,
          approvalId: null,
          approvalCancelled: false,
        };
        index++;
        this.claim(tool, seq);
        if (block.id) this.tools.set(block.id, this.items.length);
        this.items.push(tool);
      }
    }
    if (index === 0) this.notice(seq, 'dim', 'Assistant', preview(p.message.content));
  }

  private user(seq: number, p: MessageOf<'user'>): void {
    const content = p.message.content;
    if (typeof content === 'string') {
      this.userText(seq, 0, content);
      return;
    }
    const meta = p.tool_result_meta ?? [];
    let index = 0;
    for (const block of content) {
      if (block.type === 'tool_result') {
        const id = block.tool_use_id;
        const decision = meta.find((m) => m.id === id)?.permission_decision?.decision ?? null;
        const result = { seq, text: contentText(block.content), isError: block.is_error === true, decision };
        const tool = this.tools.get(id);
        if (tool !== undefined) {
          this.updateTool(tool, seq, { result });
        } else {
          this.push(seq, index++, {
            kind: 'notice',
            tone: result.isError ? 'error' : 'dim',
            label: 'Tool result',
            detail: preview(result.text),
          });
        }
      } else if (block.type === 'text') {
        this.userText(seq, index++, block.text);
      }
    }
    if (!this.claimed.has(seq)) this.notice(seq, 'dim', 'User', preview(content));
  }

  private userText(seq: number, index: number, text: string): void {
    this.push(seq, index, { kind: 'text', role: 'user', text, aborted: false, apiError: false });
  }

  private result(seq: number, p: MessageOf<'result'>): void {
    const session = p.session_id ?? '';
    const total = p.total_cost_usd ?? null;
    const before = this.lastCost.get(session);
    if (total !== null) this.lastCost.set(session, total);
    const isError = p.is_error === true;
    const interrupted = p.terminal_reason === 'aborted_streaming' || p.subtype === 'error_during_execution';
    const error = isError && !interrupted ? (p.result ?? (p.errors ?? []).join('\n')) || null : null;
    this.push(seq, 0, {
      kind: 'result',
      isError,
      interrupted,
      subtype: p.subtype ?? null,
      terminalReason: p.terminal_reason ?? null,
      turnCostUsd: total === null ? null : Math.max(0, total - (before ?? 0)),
      durationMs: p.duration_ms ?? null,
      numTurns: p.num_turns ?? null,
      inputTokens: p.usage?.input_tokens ?? null,
      outputTokens: p.usage?.output_tokens ?? null,
      error: error && error !== this.apiErrorText ? error : null,
    });
    this.apiErrorText = null;
  }

  private approvalRequest(seq: number, p: MessageOf<'approval_request'>): void {
    const tool = this.tools.get(p.request.tool_use_id ?? '');
    if (tool !== undefined) {
      this.approvals.set(p.request_id, tool);
      this.updateTool(tool, seq, { approvalId: p.request_id });
      return;
    }
    this.notice(seq, 'warn', `Asked to use ${p.request.tool_name}`, preview(p.request.input));
  }

  /**
   * Claude Code's ack of an interrupt, or (with --replay-user-messages) the echo of an approval
   * answer we sent, which belongs to the tool call it answered.
   */
  private controlResponse(seq: number, p: MessageOf<'control_response'>): void {
    const tool = this.approvals.get(p.response.request_id ?? '');
    if (tool !== undefined) {
      this.updateTool(tool, seq, {});
      return;
    }
    const behavior = p.response.response?.behavior;
    this.notice(seq, 'dim', behavior ? `Answered: ${behavior}` : 'Interrupt received', '');
  }

  private controlCancel(seq: number, p: MessageOf<'control_cancel_request'>): void {
    const tool = this.approvals.get(p.request_id);
    if (tool === undefined) {
      this.notice(seq, 'dim', 'Question withdrawn', '');
      return;
    }
    this.updateTool(tool, seq, { approvalCancelled: true });
  }
}

/**
 * The label of a row for a message the model could not read: what it was meant to be when its
 * type says so (an approval request still names its tool), else its type as it came.
 */
function unknownLabel(raw: unknown, eventType: string): string {
  const r = obj(raw);
  const type = typeof r.type === 'string' ? r.type : eventType;
  const request = obj(r.request);
  if (type === 'control_request' && request.subtype === 'can_use_tool')
    return `Asked to use ${typeof request.tool_name === 'string' ? request.tool_name : 'a tool'}`;
  return type === 'assistant' ? 'Assistant' : type;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
