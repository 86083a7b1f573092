// The task's title block: prompt, repository and workspace, status, the live counters, and the
// actions the caller may take (interrupt a turn, stop the task, run it again).
import { Anchor, Badge, Button, Group, Stack, Text, Title, UnstyledButton } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useLocation } from 'wouter';
import type { Task } from '../../../sdk/taskWire.js';
import { formatDuration, formatTokens, formatUsd, repoName } from '../../lib/format.js';
import { notifyError } from '../../lib/notify.js';
import { PriorityBadge, QueuePlace } from '../../lib/QueuePlace.js';
import { isTaskFinished, taskStatusLook } from '../../lib/status.js';
import { refreshAfterTaskChange, runAgain, stopTask, taskElapsedMs } from '../Dashboard/taskActions.js';
import { ConnectionBadge } from './ConnectionBadge.js';
import type { Connection } from './taskEventFeed.js';
import { interruptTask } from './taskViewApi.js';

const INTERRUPTIBLE: readonly Task['status'][] = ['starting', 'running', 'waiting_for_approval'];

export function TaskHeader({
  task,
  connection,
  canControl,
  canRunAgain,
}: {
  task: Task;
  connection: Connection;
  /** Owner (member or above) or admin: interrupt and stop. */
  canControl: boolean;
  canRunAgain: boolean;
}) {
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const [fullPrompt, setFullPrompt] = useState(false);
  const finished = isTaskFinished(task.status);
  const now = useNow(!finished && !!task.startedAt);
  const look = taskStatusLook[task.status];
  const queued = task.status === 'queued';
  const action = useMutation({
    mutationFn: (what: 'interrupt' | 'stop' | 'again') =>
      what === 'interrupt' ? interruptTask(task.id) : what === 'stop' ? stopTask(task) : runAgain(task),
    onSuccess: (t, what) => {
      if (what === 'again') navigate(`/tasks/${t.id}`);
    },
    onError: (err) => notifyError(err),
    onSettled: () => refreshAfterTaskChange(queryClient),
  });
  const act = (what: 'interrupt' | 'stop' | 'again') => action.mutate(what);
  const busy = action.isPending ? action.variables : null;
  const longPrompt = task.prompt.length > 140 || task.prompt.includes('\n');
  return (
    <Stack gap={6}>
      <Title
        order={1}
        fw={600}
        lineClamp={fullPrompt ? undefined : 2}
        style={{
          overflowWrap: 'anywhere',
          fontSize: 'clamp(1.05rem, 0.9rem + 0.8vw, 1.4rem)',
          ...(fullPrompt ? { whiteSpace: 'pre-wrap', maxHeight: '40vh', overflowY: 'auto' } : {}),
        }}
      >
        {task.prompt}
      </Title>
      {longPrompt && (
        <UnstyledButton w="fit-content" onClick={() => setFullPrompt((v) => !v)} aria-expanded={fullPrompt}>
          <Text size="xs" c="var(--mantine-color-anchor)">
            {fullPrompt ? 'Show less' : 'Show the whole prompt'}
          </Text>
        </UnstyledButton>
      )}
      <Group gap="xs" wrap="wrap" c="dimmed" style={{ rowGap: 4 }}>
        <Badge color={look.color} variant="light">
          {look.label}
        </Badge>
        <PriorityBadge priority={task.priority} />
        <Text size="sm" title={task.repository}>
          {repoName(task.repository)}
        </Text>
        {task.workspaceId && (
          <Anchor component={Link} href={`/workspaces/${task.workspaceId}`} size="sm">
            Workspace
          </Anchor>
        )}
        {task.model && <Text size="sm">{task.model}</Text>}
        <ConnectionBadge state={connection} />
      </Group>
      {/* While queued the reason is the queue's, said with the task's place. */}
      {queued && task.queue ? (
        <QueuePlace place={task.queue} size="sm" />
      ) : (
        task.statusReason && (
          <Text
            size="sm"
            c={task.status === 'failed' ? 'red.7' : 'dimmed'}
            style={{ overflowWrap: 'anywhere' }}
          >
            {task.statusReason}
          </Text>
        )
      )}
      <Group justify="space-between" align="center" gap="xs" wrap="wrap">
        <Group gap="md" wrap="wrap" role="group" aria-label="Usage" style={{ rowGap: 2 }}>
          <Stat label="Cost" value={formatUsd(task.costUsd)} />
          <Stat
            label="Tokens"
            value={`${formatTokens(task.inputTokens)} in · ${formatTokens(task.outputTokens)} out`}
          />
          <Stat label="Turns" value={String(task.turns)} />
          <Stat label="Elapsed" value={formatDuration(taskElapsedMs(task, now))} />
        </Group>
        <Group gap="xs" wrap="nowrap">
          {canControl && INTERRUPTIBLE.includes(task.status) && (
            <Button size="xs" variant="light" loading={busy === 'interrupt'} onClick={() => act('interrupt')}>
              Interrupt
            </Button>
          )}
          {canControl && !finished && (
            <Button
              size="xs"
              variant="light"
              color="red"
              loading={busy === 'stop'}
              onClick={() => act('stop')}
            >
              {queued ? 'Cancel' : 'Stop'}
            </Button>
          )}
          {canRunAgain && finished && (
            <Button size="xs" variant="light" loading={busy === 'again'} onClick={() => act('again')}>
              Run again
            </Button>
          )}
        </Group>
      </Group>
    </Stack>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <Text size="sm" data-stat={label.toLowerCase()}>
      <Text span size="xs" c="dimmed" tt="uppercase" fw={500} mr={4}>
        {label}
      </Text>
      <span style={{ fontVariantNumeric: 'tabular-nums' }}>{value}</span>
    </Text>
  );
}

/** The current time, re-read each second while `active`, for the elapsed counter. */
function useNow(active: boolean): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!active) return;
    const t = window.setInterval(() => setTick((n) => n + 1), 1000);
    return () => window.clearInterval(t);
  }, [active]);
  return Date.now();
}
