// How `rclaude task` shows tasks to a person: a block for one, table cells for many, and the
// small formats (cost, duration) the event log uses too (taskOutput.ts).
import type { Task } from '../sdk/taskWire.js';
import { oneLine } from '../sdk/toolSummary.js';
import { shortTime } from './output.js';
import { shortId } from './resolveRef.js';
import { age } from './workspaceOutput.js';

/** $0.16, $0.0042 (small costs keep two significant digits), $12.50. */
export function formatCost(usd: number): string {
  if (usd > 0 && usd < 0.01) return `$${usd.toPrecision(2)}`;
  return `$${usd.toFixed(2)}`;
}

/** 850ms, 23.4s, 2m 5s, 1h 3m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1).replace(/\.0$/, '')}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "queued (Waiting for the workspace agent)", "failed: Claude Code exited …", "succeeded". */
export function taskStatusText(t: Task, withReason = true): string {
  if (!withReason || !t.statusReason) return t.status;
  return t.status === 'failed' ? `failed: ${t.statusReason}` : `${t.status} (${t.statusReason})`;
}

/** What to type next, when the task waits for the user. */
export function nextStep(t: Task): string | undefined {
  const s = shortId(t.id);
  if (t.status === 'waiting_for_approval' || t.pendingApprovals > 0)
    return `Answer it: rclaude task approve ${s}  (or: rclaude task deny ${s})`;
  if (t.status === 'waiting_for_input') return `Continue it: rclaude task send ${s} "<text>"`;
  return undefined;
}

/** Every field worth reading, one per line, labels aligned. */
export function describeTask(t: Task, now = Date.now()): string {
  const limits = [
    t.maxTurns !== null ? `at most ${plural(t.maxTurns, 'turn')}` : null,
    t.maxBudgetUsd !== null ? `at most ${formatCost(t.maxBudgetUsd)}` : null,
  ].filter((x) => x !== null);
  const rows: [string, string | null][] = [
    ['ID', t.id],
    ['Status', taskStatusText(t)],
    ['Repository', t.repository],
    ['Workspace', t.workspaceId],
    ['Prompt', oneLine(t.prompt, 200)],
    ['Model', t.model],
    ['Permissions', t.permissionMode],
    ['Limits', limits.length ? limits.join(', ') : null],
    ['Approvals', t.pendingApprovals ? `${t.pendingApprovals} pending` : null],
    [
      'Usage',
      `${plural(t.turns, 'turn')}, ${formatCost(t.costUsd)}, ${t.inputTokens} input and ` +
        `${t.outputTokens} output tokens, ${formatDuration(t.durationMs)}`,
    ],
    ['Events', String(t.lastSeq)],
    ['Created', `${shortTime(t.createdAt)} UTC (${age(t.createdAt, now)} ago)`],
    ['Started', t.startedAt ? `${shortTime(t.startedAt)} UTC` : null],
    ['Finished', t.finishedAt ? `${shortTime(t.finishedAt)} UTC` : null],
  ];
  const block = rows
    .filter((r): r is [string, string] => r[1] !== null)
    .map(([label, value]) => `${label.padEnd(12)} ${value}`)
    .join('\n');
  const next = nextStep(t);
  return next ? `${block}\n\n${next}` : block;
}
