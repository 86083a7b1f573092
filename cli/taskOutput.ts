// A task's event log as a person reads it: what Claude said as paragraphs, each tool call on one
// line, tool output abbreviated, approvals standing out with the command that answers them, and
// the outcome with its cost. The events are Claude Code's stream-json lines (agent/tasks/
// claudeCommand.ts runs it) plus the platform's own rc_* events (server/tasks/taskEvents.ts).
import type { TaskEvent } from '../sdk/taskWire.js';
import { formatCost, formatDuration, oneLine, plural } from './taskDetails.js';

/** How many lines of a tool's output to show, and how wide. */
const RESULT_LINES = 3;
const LINE_WIDTH = 160;
/** Tools whose main argument is a file: shown as "Write hello.txt" rather than "Grep: pattern". */
const FILE_TOOLS = new Set(['Read', 'Write', 'Edit', 'MultiEdit', 'NotebookEdit', 'NotebookRead']);
/** The input field that says what a tool call does, for the tools that are not file tools. */
const MAIN_FIELD: Record<string, string> = {
  Bash: 'command',
  Grep: 'pattern',
  Glob: 'pattern',
  WebFetch: 'url',
  WebSearch: 'query',
  Task: 'description',
  Agent: 'description',
  Skill: 'skill',
};

export interface RenderOptions {
  /** ANSI styles (dim tool output, highlighted approvals); for a terminal that is not NO_COLOR. */
  color: boolean;
  /** How the task is named in the commands an approval line suggests (its short id). */
  taskRef: string;
}

type Json = Record<string, unknown>;
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
    const p = (e.payload && typeof e.payload === 'object' ? e.payload : {}) as Json;
    switch (e.type) {
      case 'system':
        this.system(p);
        break;
      case 'assistant':
        this.assistant(p);
        break;
      case 'user':
        this.user(p);
        break;
      case 'result':
        this.result(p);
        break;
      case 'control_request':
        this.approval(p);
        break;
      case 'control_cancel_request':
        this.add('line', [this.dim(`approval ${str(p.request_id)} withdrawn`)]);
        break;
      case 'rc_exit':
        this.exit(p);
        break;
      case 'rc_oversized':
        this.add('line', [
          this.dim(`(a ${str(p.originalType) || 'message'} of ${str(p.bytes)} bytes was too large to keep)`),
        ]);
        break;
      case 'raw':
        if (str(p.raw).trim()) this.add('line', [this.dim(clip(str(p.raw)))]);
        break;
      case 'unknown':
        this.add('line', [this.dim(`(an event of type ${str(p.type) || 'unknown'})`)]);
        break;
      // control_response, stream_event, rc_platform: bookkeeping, nothing to read.
    }
    return this.out.splice(0);
  }

  private system(p: Json): void {
    if (p.subtype === 'init') {
      const parts = [
        `Claude Code ${str(p.claude_code_version)}`.trim(),
        p.model ? `model ${str(p.model)}` : '',
        p.permissionMode ? `permissions ${str(p.permissionMode)}` : '',
      ].filter(Boolean);
      this.add('line', [this.dim(parts.join(' · '))]);
    } else if (p.subtype === 'api_retry') {
      const what = p.error_status ? `${str(p.error_status)} ${str(p.error)}`.trim() : str(p.error);
      this.add('line', [
        this.dim(`API error ${what}; retrying (attempt ${str(p.attempt)} of ${str(p.max_retries)})`),
      ]);
    } else if (p.subtype === 'compact_boundary') {
      this.add('line', [this.dim('(the conversation was compacted)')]);
    }
  }

  private assistant(p: Json): void {
    const message = (p.message ?? {}) as Json;
    const failed = p.error !== undefined || p.is_api_error_message === true;
    for (const block of blocks(message.content)) {
      if (block.type === 'text' && str(block.text).trim()) {
        const text = str(block.text).trim();
        this.lastText = text;
        if (failed) this.add('line', [this.red(`error: ${text}`)]);
        else this.add('paragraph', text.split('\n'));
      } else if (block.type === 'tool_use') {
        this.add('line', [`${this.bold('▸')} ${toolSummary(str(block.name), block.input, true)}`]);
      } else if (block.type === 'thinking' && str(block.thinking).trim()) {
        this.add('line', [this.dim(`thinking: ${oneLine(str(block.thinking), 120)}`)]);
      }
    }
  }

  private user(p: Json): void {
    const message = (p.message ?? {}) as Json;
    if (typeof message.content === 'string') {
      if (message.content.trim()) this.add('line', [this.dim(`> ${oneLine(message.content, 120)}`)]);
      return;
    }
    for (const block of blocks(message.content)) {
      if (block.type === 'tool_result') this.toolResult(block);
      else if (block.type === 'text' && str(block.text).trim())
        this.add('line', [this.dim(`> ${oneLine(str(block.text), 120)}`)]);
    }
  }

  private toolResult(block: Json): void {
    const text =
      typeof block.content === 'string'
        ? block.content
        : blocks(block.content)
            .map((b) => (b.type === 'text' ? str(b.text) : `[${str(b.type)}]`))
            .join('\n');
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

  private approval(p: Json): void {
    const req = (p.request ?? {}) as Json;
    if (req.subtype !== 'can_use_tool') return;
    const what = toolSummary(str(req.tool_name), req.input, false);
    const how = `rclaude task approve ${this.o.taskRef} ${str(p.request_id)}`;
    this.add('line', [this.highlight(`approval needed: ${what} — ${how} (or deny)`)]);
  }

  private result(p: Json): void {
    const figures = [
      typeof p.num_turns === 'number' ? plural(p.num_turns, 'turn') : '',
      typeof p.total_cost_usd === 'number' ? formatCost(p.total_cost_usd) : '',
      typeof p.duration_ms === 'number' ? formatDuration(p.duration_ms) : '',
    ].filter(Boolean);
    const text = str(p.result).trim();
    const fresh = text !== '' && text !== this.lastText;
    const interrupted = p.terminal_reason === 'aborted_streaming' || p.subtype === 'error_during_execution';
    let head: string;
    if (interrupted) head = this.bold('■ interrupted; waiting for a follow-up');
    else if (p.is_error !== true) {
      if (fresh) this.add('paragraph', text.split('\n'));
      head = this.green('✓ succeeded');
    } else {
      const why = fresh ? oneLine(text, LINE_WIDTH) : ERROR_SUBTYPES[str(p.subtype)];
      head = this.red(`✗ failed${why ? `: ${why}` : ''}`);
    }
    this.add('paragraph', [[head, ...figures].join(' · ')]);
    this.lastText = '';
  }

  private exit(p: Json): void {
    const tail = oneLine(str(p.stderrTail).split('\n').filter(Boolean).slice(-1)[0] ?? '', LINE_WIDTH);
    if (p.signal) this.add('line', [this.dim(`Claude Code ended (signal ${str(p.signal)})`)]);
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

/**
 * "Write hello.txt" (relative to /workspace when `relative`), "Bash: echo hi …", "Grep: TODO":
 * the tool and the first line of what it was asked to do.
 */
export function toolSummary(name: string, input: unknown, relative: boolean): string {
  const args = (input && typeof input === 'object' ? input : {}) as Json;
  if (FILE_TOOLS.has(name)) {
    const path = str(args.file_path ?? args.notebook_path ?? args.path);
    if (path) return `${name} ${relative ? path.replace(/^\/workspace\//, '') : path}`;
  }
  const field = MAIN_FIELD[name];
  const main = field ? args[field] : Object.values(args).find((v) => typeof v === 'string');
  const arg = typeof main === 'string' ? oneLine(main, 100) : '';
  return arg ? `${name}: ${arg}` : name;
}

function blocks(content: unknown): Json[] {
  return Array.isArray(content) ? content.filter((b): b is Json => !!b && typeof b === 'object') : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function clip(line: string): string {
  return line.length > LINE_WIDTH ? `${line.slice(0, LINE_WIDTH - 1)}…` : line;
}
