// Turns a task's event log into the rows of its conversation: assistant text, tool calls joined
// with their results and approval questions, turn summaries, and compact rows for the rest.
// Pure, so it is tested on real payloads (conversation.test.ts); the stream-json shapes are in
// docs/claudeCodeProtocol.md.
import type { TaskEvent } from '../../../sdk/taskWire.js';
import type { ConvItem, ToolItem } from './convItem.js';
import { arr, contentText, num, type Obj, obj, preview, str } from './narrow.js';

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
    const p = obj(e.payload);
    const wasInTurn = this.inTurn;
    if (e.type === 'result' || e.type === 'rc_exit') this.inTurn = false;
    else if (e.type === 'system' || e.type === 'assistant' || e.type === 'user') this.inTurn = true;
    try {
      switch (e.type) {
        case 'system':
          this.system(e.seq, p);
          return;
        case 'assistant':
          this.assistant(e.seq, p);
          return;
        case 'user':
          this.user(e.seq, p);
          return;
        case 'result':
          this.result(e.seq, p);
          return;
        case 'control_request':
          this.controlRequest(e.seq, p);
          return;
        case 'control_cancel_request':
          this.controlCancel(e.seq, p);
          return;
        case 'control_response':
          this.controlResponse(e.seq, p);
          return;
        case 'rc_exit':
          this.push(e.seq, 0, {
            kind: 'exit',
            exitCode: num(p.exitCode),
            signal: str(p.signal),
            stderrTail: str(p.stderrTail) ?? '',
            midTurn: wasInTurn,
          });
          return;
        case 'rc_oversized':
          this.notice(
            e.seq,
            'warn',
            'Oversized line',
            `${str(p.originalType) ?? 'an event'} of ${num(p.bytes) ?? '?'} bytes was cut to its start`,
          );
          return;
        case 'raw':
          this.notice(e.seq, 'dim', 'Output', preview(p.raw ?? e.payload, 400));
          return;
        default:
          this.notice(e.seq, 'dim', str(p.type) ?? e.type, preview(e.payload));
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

  private system(seq: number, p: Obj): void {
    const subtype = str(p.subtype);
    if (subtype === 'init') {
      this.push(seq, 0, {
        kind: 'init',
        model: str(p.model),
        tools: arr(p.tools).filter((t): t is string => typeof t === 'string'),
        cwd: str(p.cwd),
        permissionMode: str(p.permissionMode),
      });
      return;
    }
    if (subtype === 'api_retry') {
      const detail = `attempt ${num(p.attempt) ?? '?'} of ${num(p.max_retries) ?? '?'}${
        p.error_status ? ` after ${p.error_status}` : ''
      }${str(p.error) ? ` (${str(p.error)})` : ''}`;
      this.notice(seq, 'warn', 'Retrying the model API', detail);
      return;
    }
    this.notice(seq, 'dim', subtype ? `System: ${subtype}` : 'System', preview(p.status ?? ''));
  }

  private assistant(seq: number, p: Obj): void {
    const message = obj(p.message);
    const blocks = arr(message.content);
    const aborted = p.aborted === true;
    const apiError = p.is_api_error_message === true;
    let index = 0;
    for (const raw of blocks) {
      const block = obj(raw);
      if (block.type === 'text') {
        const text = str(block.text) ?? '';
        this.push(seq, index++, { kind: 'text', role: 'assistant', text, aborted, apiError });
        if (apiError) this.apiErrorText = text;
      } else if (block.type === 'thinking') {
        const text = str(block.thinking) ?? '';
        if (text) this.push(seq, index++, { kind: 'thinking', text });
      } else if (block.type === 'tool_use') {
        const toolUseId = str(block.id) ?? `seq-${seq}-${index}`;
        const tool: ToolItem = {
          kind: 'tool',
          key: index ? `${seq}.${index}` : String(seq),
          seq,
          seqs: [],
          toolUseId,
          name: str(block.name) ?? 'tool',
          input: block.input,
          result: null,
          approvalId: null,
          approvalCancelled: false,
        };
        index++;
        this.claim(tool, seq);
        this.tools.set(toolUseId, this.items.length);
        this.items.push(tool);
      }
    }
    if (index === 0) this.notice(seq, 'dim', 'Assistant', preview(message.content ?? p));
  }

  private user(seq: number, p: Obj): void {
    const content = obj(p.message).content;
    if (typeof content === 'string') {
      this.userText(seq, 0, content);
      return;
    }
    const meta = arr(p.tool_result_meta).map(obj);
    let index = 0;
    for (const raw of arr(content)) {
      const block = obj(raw);
      if (block.type === 'tool_result') {
        const id = str(block.tool_use_id) ?? '';
        const decision = str(obj(meta.find((m) => m.id === id)?.permission_decision).decision);
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
        this.userText(seq, index++, str(block.text) ?? '');
      }
    }
    if (!this.claimed.has(seq)) this.notice(seq, 'dim', 'User', preview(content));
  }

  private userText(seq: number, index: number, text: string): void {
    this.push(seq, index, { kind: 'text', role: 'user', text, aborted: false, apiError: false });
  }

  private result(seq: number, p: Obj): void {
    const session = str(p.session_id) ?? '';
    const total = num(p.total_cost_usd);
    const before = this.lastCost.get(session);
    if (total !== null) this.lastCost.set(session, total);
    const usage = obj(p.usage);
    const isError = p.is_error === true;
    const interrupted = p.terminal_reason === 'aborted_streaming' || p.subtype === 'error_during_execution';
    const errors = arr(p.errors).filter((x): x is string => typeof x === 'string');
    const error = isError && !interrupted ? (str(p.result) ?? errors.join('\n')) || null : null;
    this.push(seq, 0, {
      kind: 'result',
      isError,
      interrupted,
      subtype: str(p.subtype),
      terminalReason: str(p.terminal_reason),
      turnCostUsd: total === null ? null : Math.max(0, total - (before ?? 0)),
      durationMs: num(p.duration_ms),
      numTurns: num(p.num_turns),
      inputTokens: num(usage.input_tokens),
      outputTokens: num(usage.output_tokens),
      error: error && error !== this.apiErrorText ? error : null,
    });
    this.apiErrorText = null;
  }

  private controlRequest(seq: number, p: Obj): void {
    const request = obj(p.request);
    const tool = this.tools.get(str(request.tool_use_id) ?? '');
    if (request.subtype === 'can_use_tool' && tool !== undefined) {
      const approvalId = str(p.request_id);
      if (approvalId) this.approvals.set(approvalId, tool);
      this.updateTool(tool, seq, { approvalId });
      return;
    }
    if (request.subtype === 'can_use_tool') {
      this.notice(seq, 'warn', `Asked to use ${str(request.tool_name) ?? 'a tool'}`, preview(request.input));
      return;
    }
    this.notice(seq, 'dim', `Control request: ${str(request.subtype) ?? '?'}`, '');
  }

  /**
   * Claude Code's ack of an interrupt, or (with --replay-user-messages) the echo of an approval
   * answer we sent, which belongs to the tool call it answered.
   */
  private controlResponse(seq: number, p: Obj): void {
    const response = obj(p.response);
    const tool = this.approvals.get(str(response.request_id) ?? '');
    if (tool !== undefined) {
      this.updateTool(tool, seq, {});
      return;
    }
    const behavior = str(obj(response.response).behavior);
    this.notice(seq, 'dim', behavior ? `Answered: ${behavior}` : 'Interrupt received', '');
  }

  private controlCancel(seq: number, p: Obj): void {
    const tool = this.approvals.get(str(p.request_id) ?? '');
    if (tool === undefined) {
      this.notice(seq, 'dim', 'Question withdrawn', '');
      return;
    }
    this.updateTool(tool, seq, { approvalCancelled: true });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
