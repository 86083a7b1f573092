// One row of the conversation, by kind. Rows are calm by default: assistant text in full, tool
// calls as one line until opened, bookkeeping (session start, retries, exits) as small dim lines.
import { memo, type ReactNode } from 'react';
import { formatDuration, formatTokens, formatUsd } from '../../lib/format.js';
import type { ConvItem } from './convItem.js';
import { Markdown } from './Markdown.js';
import { ToolCall, type ToolState } from './ToolCall.js';
import css from './taskView.module.css';

export interface RowProps {
  item: ConvItem;
  /** Whether this is the first session start, to word later ones as new turns. */
  firstInit: boolean;
  toolState: ToolState;
  open: boolean;
  onToggle: (key: string) => void;
}

const TONE = {
  dim: undefined,
  warn: 'var(--mantine-color-orange-text)',
  error: 'var(--mantine-color-red-text)',
};

export const EventRow = memo(function EventRow({ item, firstInit, toolState, open, onToggle }: RowProps) {
  switch (item.kind) {
    case 'text':
      if (item.role === 'user') return <UserText text={item.text} />;
      return (
        <div className={item.apiError ? `${css.text} ${css.apiError}` : css.text}>
          <Markdown text={item.text} />
          {item.aborted && <div className={css.dim}>(cut short by the interrupt)</div>}
        </div>
      );
    case 'thinking':
      return (
        <div className={css.dim} style={{ whiteSpace: 'pre-wrap', fontStyle: 'italic' }}>
          {item.text}
        </div>
      );
    case 'tool':
      return <ToolCall item={item} state={toolState} open={open} onToggle={() => onToggle(item.key)} />;
    case 'init':
      return (
        <Dim title={item.tools.join(', ')}>
          {firstInit ? 'Session started' : 'New turn'} · {item.model ?? 'default model'} · {item.tools.length}{' '}
          tools{item.permissionMode ? ` · ${item.permissionMode} permissions` : ''}
        </Dim>
      );
    case 'result':
      return <TurnSummary item={item} />;
    case 'exit': {
      const how = item.signal ? `signal ${item.signal}` : `exit code ${item.exitCode ?? '?'}`;
      if (!item.midTurn) return <Dim>Claude Code process ended ({how})</Dim>;
      return (
        <div>
          <Dim color={TONE.error}>Claude Code exited during the turn ({how})</Dim>
          {item.stderrTail && <pre className={css.preError}>{item.stderrTail}</pre>}
        </div>
      );
    }
    case 'notice':
      return (
        <Dim color={TONE[item.tone]}>
          <span className={css.strong}>{item.label}</span>
          {item.detail ? <span className={css.mono}> {item.detail}</span> : null}
        </Dim>
      );
  }
});

function Dim({
  children,
  color,
  title,
}: {
  children: ReactNode;
  color?: string | undefined;
  title?: string;
}) {
  return (
    <div className={css.dim} style={color ? { color } : undefined} title={title}>
      {children}
    </div>
  );
}

function UserText({ text }: { text: string }) {
  // Claude Code's own notes in the user role ("[Request interrupted by user]") are bracketed.
  const trimmed = text.trim();
  if (/^\[.*\]$/s.test(trimmed)) return <Dim>{trimmed.slice(1, -1)}</Dim>;
  return <div className={css.bubble}>{text}</div>;
}

function TurnSummary({ item }: { item: Extract<ConvItem, { kind: 'result' }> }) {
  const tokens = (item.inputTokens ?? 0) + (item.outputTokens ?? 0);
  const parts = [
    item.numTurns !== null ? `${item.numTurns} ${item.numTurns === 1 ? 'step' : 'steps'}` : null,
    item.durationMs !== null ? formatDuration(item.durationMs) : null,
    item.turnCostUsd !== null ? formatUsd(item.turnCostUsd) : null,
    tokens > 0
      ? `${formatTokens(item.inputTokens ?? 0)} in / ${formatTokens(item.outputTokens ?? 0)} out`
      : null,
    // An API failure still says subtype "success"; its terminal_reason tells.
    item.isError && !item.interrupted
      ? item.subtype !== 'success'
        ? item.subtype
        : item.terminalReason
      : null,
  ].filter(Boolean);
  const title = item.interrupted ? 'Turn interrupted' : item.isError ? 'Turn failed' : 'Turn finished';
  const color = item.interrupted
    ? 'var(--mantine-color-orange-text)'
    : item.isError
      ? 'var(--mantine-color-red-text)'
      : 'var(--mantine-color-green-text)';
  return (
    <div>
      <div className={css.turn}>
        <span className={css.strong} style={{ color }}>
          {title}
        </span>
        <span className={css.dim}>{parts.join(' · ')}</span>
      </div>
      {item.error && <div className={css.turnError}>{item.error}</div>}
    </div>
  );
}
