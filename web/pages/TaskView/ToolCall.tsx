// One tool call in the conversation: a header that opens and closes it (what the tool does and
// how it went), and inside, its input (a diff for file changes) and its output.

import { toolSubject } from '../../../sdk/toolSummary.js';
import type { ToolItem } from './convItem.js';
import { ToolInput } from './ToolInput.js';
import css from './taskView.module.css';

export type ToolState = 'approval' | 'running' | 'done' | 'error' | 'denied' | 'expired' | 'none';

const STATE_LOOK: Record<ToolState, { label: string; color: string }> = {
  approval: { label: 'Needs approval', color: 'orange' },
  running: { label: 'Running', color: 'blue' },
  done: { label: 'Done', color: 'green' },
  error: { label: 'Error', color: 'red' },
  denied: { label: 'Denied', color: 'red' },
  expired: { label: 'Approval expired', color: 'gray' },
  none: { label: 'No result', color: 'gray' },
};

/**
 * How the call stands: answered by its result, else by its approval (waiting, or expired when the
 * task was cancelled first), else by whether the task still runs.
 */
export function toolState(
  item: ToolItem,
  approvals: { pending: ReadonlySet<string>; expired: ReadonlySet<string> },
  active: boolean,
): ToolState {
  if (item.result) {
    if (!item.result.isError) return 'done';
    return item.result.decision === 'reject' ? 'denied' : 'error';
  }
  if (item.approvalId && approvals.pending.has(item.approvalId)) return 'approval';
  if (item.approvalId && approvals.expired.has(item.approvalId)) return 'expired';
  return active ? 'running' : 'none';
}

export function StateBadge({ state }: { state: ToolState }) {
  const look = STATE_LOOK[state];
  return (
    <span
      className={css.badge}
      style={{
        background: `var(--mantine-color-${look.color}-light)`,
        color: `var(--mantine-color-${look.color}-light-color)`,
      }}
    >
      {look.label}
    </span>
  );
}

export function ToolCall({
  item,
  state,
  open,
  onToggle,
}: {
  item: ToolItem;
  state: ToolState;
  open: boolean;
  onToggle: () => void;
}) {
  const bodyId = `tool-${item.key}`;
  const result = item.result;
  return (
    <div className={css.tool}>
      <button
        type="button"
        className={css.toolHead}
        onClick={onToggle}
        aria-expanded={open}
        aria-controls={bodyId}
      >
        <span className={css.chevron} aria-hidden="true">
          {open ? '▾' : '▸'}
        </span>
        <span className={css.toolName}>{item.name}</span>
        <span className={css.toolSummary}>{toolSubject(item.name, item.input)}</span>
        <StateBadge state={state} />
      </button>
      {open && (
        <div id={bodyId} className={css.toolBody}>
          <ToolInput name={item.name} input={item.input} />
          {result && (
            <>
              <div className={result.isError ? css.labelError : css.label}>
                {result.isError ? 'Error' : 'Output'}
              </div>
              <pre
                className={result.isError ? css.preError : css.pre}
                data-error={result.isError || undefined}
              >
                {result.text || '(no output)'}
              </pre>
            </>
          )}
        </div>
      )}
    </div>
  );
}
