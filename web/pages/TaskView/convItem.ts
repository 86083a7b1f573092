// The rows of a task's conversation, as conversation.ts builds them from the event log and the
// list renders them.

export interface Base {
  /** Stable React key: the event's seq, plus the block index when one event gives several rows. */
  key: string;
  /** The seq of the event the row starts at. */
  seq: number;
  /** Every seq shown in this row; each seq of the log belongs to exactly one row. */
  seqs: number[];
}

export interface ToolResult {
  seq: number;
  text: string;
  isError: boolean;
  /** Claude Code's note on how the call was permitted, when it says ('accept', 'reject'). */
  decision: string | null;
}

export type ConvItem = Base &
  (
    | {
        kind: 'init';
        model: string | null;
        tools: string[];
        cwd: string | null;
        permissionMode: string | null;
      }
    | { kind: 'text'; role: 'assistant' | 'user'; text: string; aborted: boolean; apiError: boolean }
    | { kind: 'thinking'; text: string }
    | {
        kind: 'tool';
        toolUseId: string;
        name: string;
        input: unknown;
        result: ToolResult | null;
        /** The approval (= control request id) Claude Code asked for before running it. */
        approvalId: string | null;
        /** The question was withdrawn (control_cancel_request) before anyone answered. */
        approvalCancelled: boolean;
      }
    | {
        kind: 'result';
        isError: boolean;
        interrupted: boolean;
        subtype: string | null;
        terminalReason: string | null;
        /** This turn's cost by Claude Code's own count (its total is cumulative per session). */
        turnCostUsd: number | null;
        durationMs: number | null;
        numTurns: number | null;
        inputTokens: number | null;
        outputTokens: number | null;
        /** Why it failed, for error results. */
        error: string | null;
      }
    | {
        kind: 'exit';
        exitCode: number | null;
        signal: string | null;
        stderrTail: string;
        /** It ended inside a turn (a crash), not after one (a replaced or stopped process). */
        midTurn: boolean;
      }
    | { kind: 'notice'; label: string; detail: string; tone: 'dim' | 'warn' | 'error' }
  );

export type ToolItem = Extract<ConvItem, { kind: 'tool' }>;
