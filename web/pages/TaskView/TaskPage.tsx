// The live task view: the header with status, counters and actions; the conversation as it
// streams; pending approvals as cards; and the follow-up composer. It fills the viewport so the
// conversation scrolls in its own (virtualised) pane and the cards and composer stay in reach.
import { Alert, Center, Loader, Stack, VisuallyHidden } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useMemo, useRef, useState } from 'react';
import { ApiError } from '../../../sdk/client/apiError.js';
import type { Task, TaskEvent, TaskUsageFrame } from '../../../sdk/taskWire.js';
import { canRun, isAdmin, useSession } from '../../app/session.js';
import { queuePlaceText } from '../../lib/queueText.js';
import { isTaskFinished, taskStatusLook } from '../../lib/status.js';
import { ApprovalCard } from './ApprovalCard.js';
import { Composer } from './Composer.js';
import { EventList } from './EventList.js';
import { prefetchHistory } from './historyPrefetch.js';
import { TaskHeader } from './TaskHeader.js';
import {
  approvalsKey,
  fetchTask,
  taskKey,
  useExpiredApprovals,
  usePendingApprovals,
  useTask,
} from './taskViewApi.js';
import { useConversation } from './useConversation.js';
import { useTaskEvents } from './useTaskEvents.js';

/** Events after which the task's status, cost or approvals have changed on the server. */
const MOVES_TASK = new Set([
  'system',
  'result',
  'control_request',
  'control_cancel_request',
  'control_response',
  'rc_exit',
]);

const NONE: ReadonlySet<string> = new Set();

export default function TaskPage({ id }: { id: string }) {
  const me = useSession();
  const queryClient = useQueryClient();
  // Downloads start in render, not in effects, which React holds back (see historyPrefetch.ts).
  const prefetched = useRef<string | null>(null);
  if (prefetched.current !== id) {
    prefetched.current = id;
    prefetchHistory(id);
    void queryClient.prefetchQuery({ queryKey: taskKey(id), queryFn: () => fetchTask(id) });
  }
  const task = useTask(id);
  const refresh = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: taskKey(id) });
    void queryClient.invalidateQueries({ queryKey: approvalsKey(id) });
  }, [queryClient, id]);
  const onLive = useCallback(
    (added: TaskEvent[]) => {
      if (added.some((e) => MOVES_TASK.has(e.type))) refresh();
    },
    [refresh],
  );
  // The header's cost and tokens move with each metered model request, without a refetch.
  const onUsage = useCallback(
    (f: TaskUsageFrame) =>
      queryClient.setQueryData<Task>(taskKey(id), (t) =>
        t ? { ...t, costUsd: f.costUsd, inputTokens: f.inputTokens, outputTokens: f.outputTokens } : t,
      ),
    [queryClient, id],
  );
  // A task that is not there (404) has no events to follow either.
  const { events, historyCount, connection } = useTaskEvents(
    id,
    onLive,
    onUsage,
    !(task.isError && !task.data),
  );
  const items = useConversation(events);
  const approvals = usePendingApprovals(task.data);
  const expired = useExpiredApprovals(task.data);
  // Answered cards leave at once, before the refetch confirms it.
  const [answered, setAnswered] = useState<ReadonlySet<string>>(new Set());
  const pending = useMemo(
    () => (approvals.data ?? []).filter((a) => !answered.has(a.id)),
    [approvals.data, answered],
  );
  const pendingIds = useMemo(() => new Set(pending.map((a) => a.id)), [pending]);

  // A failed refetch keeps the task it had: the page stays, the poll tries again.
  if (!task.data) {
    if (!task.isError)
      return (
        <Center h="50vh">
          <Loader aria-label="Loading the task" />
        </Center>
      );
    return (
      <Alert
        color={task.error instanceof ApiError && task.error.status === 404 ? 'gray' : 'red'}
        title="No task here"
      >
        {task.error.message}
      </Alert>
    );
  }

  const t = task.data;
  const mine = t.ownerId === me.user.id;
  const finished = isTaskFinished(t.status);
  const canInteract = mine && canRun(me);
  const look = taskStatusLook[t.status];
  const shownApprovals = finished ? [] : pending;

  return (
    <Stack
      gap="sm"
      style={{
        height: 'calc(100dvh - var(--app-shell-header-height, 52px) - 2 * var(--mantine-spacing-md))',
        minHeight: 420,
      }}
    >
      <VisuallyHidden aria-live="polite">
        {`Task ${look.label}${t.queue ? `: ${queuePlaceText(t.queue)}` : t.statusReason ? `: ${t.statusReason}` : ''}`}
      </VisuallyHidden>
      <TaskHeader
        task={t}
        connection={connection}
        canControl={(mine && canRun(me)) || isAdmin(me)}
        canRunAgain={canInteract}
      />
      {historyCount === null ? (
        <Center style={{ flex: 1 }} role="feed" aria-label="Conversation" aria-busy="true">
          <Loader size="sm" aria-label="Loading the conversation" />
        </Center>
      ) : (
        <EventList
          items={items}
          eventCount={events.length}
          pendingApprovals={pendingIds}
          expiredApprovals={expired.data ?? NONE}
          active={!finished && t.status !== 'waiting_for_input'}
        />
      )}
      {shownApprovals.length > 0 && (
        <Stack gap="xs" style={{ maxHeight: '55%', overflowY: 'auto', flexShrink: 0 }}>
          {shownApprovals.map((a) => (
            <ApprovalCard
              key={a.id}
              approval={a}
              canAnswer={canInteract}
              onSettled={(answeredId) => {
                if (answeredId) setAnswered((s) => new Set(s).add(answeredId));
                refresh();
              }}
            />
          ))}
        </Stack>
      )}
      <div style={{ flexShrink: 0 }}>
        <Composer task={t} canInteract={canInteract} onSent={refresh} />
      </div>
    </Stack>
  );
}
