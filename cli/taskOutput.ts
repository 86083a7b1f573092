// A task's event log as a person reads it: what Claude said as paragraphs, each tool call on one
// line, tool output abbreviated, approvals standing out with the command that answers them, and
// the outcome with its cost. The events are Claude Code's stream-json lines (agent/tasks/
// claudeCommand.ts runs it) plus the platform's own rc_* events (server/tasks/taskEvents.ts).
import { type ContentBlock, type MessageOf, parseTaskEvent } from '../sdk/claudeMessages.js';
import type { TaskEvent } from '../sdk/taskWire.js';
import { oneLine, toolSummary } from '../sdk/toolSummary.js';
import { formatCost, formatDuration, plural } from './taskDetails.js';

/** How many lines of a tool's output to show, and how wide. */
const RESULT_LINES = 3;
const LINE_WIDTH = 160;

export interface RenderOptions {
  /** ANSI styles (dim tool output, highlighted approvals); for a terminal that is not NO_COLOR. */
  color: boolean;
  /** How the task is named in the commands an approval line suggests (its short id). */
  taskRef: string;
}

type Kind = 'paragraph' | 'line';

/**
 * Turns events into lines, one event at a time as they stream. It keeps a little state (was the
 * last thing a paragraph, what did Claude say last) so blank lines fall between paragraphs only
 * and a final result that repeats the last paragraph is not printed twice.
 */
export class TaskRenderer {
  private previous: Kind | undefined;
  private lastText = '';
  private readonly out: string[] = [];

  constructor(private readonly o: RenderOptions) {}

  /** The lines `e` shows as (no trailing newlines); none for events a person need not see. */
  render(e: TaskEvent): string[] {
    if (e.type === 'raw') {
      const raw = (e.payload as { raw?: unknown } | null)?.raw;
      if (typeof raw === 'string' && raw.trim()) this.add('line', [this.dim(clip(raw))]);
      return this.out.splice(0);
    }
    const m = parseTaskEvent(e);
    switch (m.kind) {
      case 'init':
        this.init(m.data);
        break;
      case 'system':
        this.system(m.data);
        break;
      case 'assistant':
        this.assistant(m.data);
        break;
      case 'user':
        this.user(m.data);
        break;
      case 'result':
        this.result(m.data);
        break;
      case 'approval_request':
        this.approval(m.data);
        break;
      case 'control_cancel_request':
        this.add('line', [this.dim(`approval ${m.data.request_id} withdrawn`)]);
        break;
      case 'rc_exit':
        this.exit(m.data);
        break;
      case 'rc_oversized':
        this.add('line', [
          this.dim(
            `(a ${m.data.originalType || 'message'} of ${str(m.data.bytes)} bytes was too large to keep)`,
          ),
        ]);
        break;
      case 'unknown': {
        const type = (m.raw as { type?: unknown } | null)?.type;
        this.add('line', [this.dim(`(an event of type ${str(type) || 'unknown'})`)]);
        break;
      }
      // control_request (not a question), control_response, stream_event: bookkeeping.
    }
    return this.out.splice(0);
  }

  private init(p: MessageOf<'init'>): void {
    const parts = [
      `Claude Code ${p.claude_code_version ?? ''}`.trim(),
      p.model ? `model ${p.model}` : '',
      p.permissionMode ? `permissions ${p.permissionMode}` : '',
    ].filter(Boolean);
    this.add('line', [this.dim(parts.join(' · '))]);
  }

  private system(p: MessageOf<'system'>): void {
    if (p.subtype === 'api_retry') {
      const what = p.error_status ? `${p.error_status} ${p.error ?? ''}`.trim() : (p.error ?? '');
      this.add('line', [
        this.dim(`API error ${what}; retrying (attempt ${str(p.attempt)} of ${str(p.max_retries)})`),
      ]);
    } else if (p.subtype === 'compact_boundary') {
      this.add('line', [this.dim('(the conversation was compacted)')]);
    }
  }

  private assistant(p: MessageOf<'assistant'>): void {
    const failed = p.error !== undefined || p.is_api_error_message === true;
    for (const block of p.message.content) {
      if (block.type === 'text' && block.text.trim()) {
        const text = block.text.trim();
        this.lastText = text;
        if (failed) this.add('line', [this.red(`error: ${text}`)]);
        else this.add('paragraph', text.split('\n'));
      } else if (block.type === 'tool_use') {
        this.add('line', [`${this.bold('▸')} ${toolSummary(block.name, block.input)}`]);
      } else if (block.type === 'thinking' && block.thinking.trim()) {
        this.add('line', [this.dim(`thinking: ${oneLine(block.thinking, 120)}`)]);
      }
    }
  }

  private user(p: MessageOf<'user'>): void {
    const content = p.message.content;
    if (typeof content === 'string') {
      if (content.trim()) this.add('line', [this.dim(`> ${oneLine(content, 120)}`)]);
      return;
    }
    for (const block of content) {
      if (block.type === 'tool_result') this.toolResult(block);
      else if (block.type === 'text' && block.text.trim())
        this.add('line', [this.dim(`> ${oneLine(block.text, 120)}`)]);
    }
  }

  private toolResult(block: Extract<ContentBlock, { type: 'tool_result' }>): void {
    const text =
      typeof block.content === 'string'
        ? block.content
        : (block.content ?? []).map((b) => (b.type === 'text' ? b.text : `[${b.type}]`)).join('\n');
    const lines = text.split(/\r\n|\r|\n/);
    while (lines.length && !lines[lines.length - 1]?.trim()) lines.pop();
    if (!lines.length) lines.push('(no output)');
    const shown = lines.slice(0, RESULT_LINES).map((l, i) => `${i === 0 ? '  ⎿ ' : '    '}${clip(l)}`);
    if (lines.length > RESULT_LINES) shown.push(`    … +${plural(lines.length - RESULT_LINES, 'line')}`);
    if (block.is_error === true) {
      shown[0] = `  ⎿ error: ${clip(lines[0] ?? '')}`;
      this.add(
        'line',
        shown.map((l) => this.red(l)),
      );
    } else
      this.add(
        'line',
        shown.map((l) => this.dim(l)),
      );
  }

  private approval(p: MessageOf<'approval_request'>): void {
    const what = toolSummary(p.request.tool_name, p.request.input, { relative: false });
    const how = `rclaude task approve ${this.o.taskRef} ${p.request_id}`;
    this.add('line', [this.highlight(`approval needed: ${what} — ${how} (or deny)`)]);
  }

  private result(p: MessageOf<'result'>): void {
    const figures = [
      p.num_turns !== undefined ? plural(p.num_turns, 'turn') : '',
      p.total_cost_usd !== undefined ? formatCost(p.total_cost_usd) : '',
      p.duration_ms !== undefined ? formatDuration(p.duration_ms) : '',
    ].filter(Boolean);
    const text = (p.result ?? '').trim();
    const fresh = text !== '' && text !== this.lastText;
    const interrupted = p.terminal_reason === 'aborted_streaming' || p.subtype === 'error_during_execution';
    let head: string;
    if (interrupted) head = this.bold('■ interrupted; waiting for a follow-up');
    else if (p.is_error !== true) {
      if (fresh) this.add('paragraph', text.split('\n'));
      head = this.green('✓ succeeded');
    } else {
      const why = fresh ? oneLine(text, LINE_WIDTH) : ERROR_SUBTYPES[p.subtype ?? ''];
      head = this.red(`✗ failed${why ? `: ${why}` : ''}`);
    }
    this.add('paragraph', [[head, ...figures].join(' · ')]);
    this.lastText = '';
  }

  private exit(p: MessageOf<'rc_exit'>): void {
    const tail = oneLine((p.stderrTail ?? '').split('\n').filter(Boolean).slice(-1)[0] ?? '', LINE_WIDTH);
    if (p.signal) this.add('line', [this.dim(`Claude Code ended (signal ${p.signal})`)]);
    else if (p.exitCode === 0) this.add('line', [this.dim('Claude Code exited')]);
    else
      this.add('line', [
        this.red(`Claude Code exited with code ${str(p.exitCode)}${tail ? `: ${tail}` : ''}`),
      ]);
  }

  /** Appends a block, with a blank line before it when it or the one before is a paragraph. */
  private add(kind: Kind, lines: string[]): void {
    if (this.previous && (kind === 'paragraph' || this.previous === 'paragraph')) this.out.push('');
    this.out.push(...lines);
    this.previous = kind;
  }

  private style(code: string, text: string): string {
    return this.o.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
  private dim = (t: string) => this.style('2', t);
  private bold = (t: string) => this.style('1', t);
  private red = (t: string) => this.style('31', t);
  private green = (t: string) => this.style('32', t);
  private highlight = (t: string) => this.style('1;33', t);
}

/** Why a result with is_error failed, when it carries no text of its own. */
const ERROR_SUBTYPES: Record<string, string> = {
  error_max_turns: 'reached the maximum number of turns',
  error_max_budget_usd: 'reached the budget',
  error_during_execution: 'an error during execution',
};

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function clip(line: string): string {
  return line.length > LINE_WIDTH ? `${line.slice(0, LINE_WIDTH - 1)}…` : line;
}
