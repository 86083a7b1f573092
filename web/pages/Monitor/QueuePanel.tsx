// The queue in the order the scheduler serves it (GET /api/v1/queue): each task's place, owner
// (admins see everyone's), priority, why it waits and when it may start. The queue names tasks by
// id; their prompts and repositories come from the list of queued tasks polled beside it. The
// clock ticks between polls, so the wait so far and the estimates move.
import { Alert, Badge, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'wouter';
import type { QueueEntry } from '../../../sdk/schedulerWire.js';
import type { Task } from '../../../sdk/taskWire.js';
import { formatDuration, repoName } from '../../lib/format.js';
import { PriorityBadge } from '../../lib/QueuePlace.js';
import { estimateText } from '../../lib/queueText.js';
import { useNow } from './useNow.js';

export function QueuePanel({
  entries,
  tasks,
  error,
  showOwner,
  myId,
}: {
  entries: QueueEntry[] | undefined;
  /** The queued tasks themselves, for their prompts. */
  tasks: Task[] | undefined;
  error: Error | null;
  showOwner: boolean;
  myId: string;
}) {
  const now = useNow();
  const byId = new Map((tasks ?? []).map((t) => [t.id, t]));
  const queued = [...(entries ?? [])].sort((a, b) => a.position - b.position);
  return (
    <Stack gap="sm" component="section" aria-labelledby="queue-heading">
      <Title order={2} size="h4" id="queue-heading">
        Queue{' '}
        {entries && (
          <Badge variant="light" color="gray" ml={4}>
            {entries.length}
          </Badge>
        )}
      </Title>
      {error && <Alert color="red">{error.message}</Alert>}
      {entries && queued.length === 0 && (
        <Text c="dimmed" size="sm">
          Nothing is waiting: every task has started.
        </Text>
      )}
      {queued.length > 0 && (
        <Table.ScrollContainer minWidth={0}>
          <Table verticalSpacing="xs" aria-label="Queued tasks">
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={1}>#</Table.Th>
                <Table.Th>Task</Table.Th>
                {showOwner && <Table.Th visibleFrom="sm">User</Table.Th>}
                <Table.Th visibleFrom="md">Why it waits</Table.Th>
                <Table.Th ta="right">Waiting</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {queued.map((e) => (
                <QueueRow
                  key={e.taskId}
                  entry={e}
                  task={byId.get(e.taskId)}
                  now={now}
                  owner={showOwner ? (e.userId === myId ? `${e.userName} (you)` : e.userName) : null}
                />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}

function QueueRow({
  entry: e,
  task,
  now,
  owner,
}: {
  entry: QueueEntry;
  task: Task | undefined;
  now: number;
  owner: string | null;
}) {
  const estimate = estimateText(e.estimatedStartAt, now);
  const reason = (
    <Text size="sm" c={e.action === 'fail' ? 'red.7' : undefined} style={{ overflowWrap: 'anywhere' }}>
      {e.reason}
    </Text>
  );
  return (
    <Table.Tr data-task-id={e.taskId}>
      <Table.Td style={{ whiteSpace: 'nowrap' }}>
        <Text size="sm" fw={600}>
          #{e.position}
        </Text>
      </Table.Td>
      <Table.Td maw={320}>
        <Text
          component={Link}
          href={`/tasks/${e.taskId}`}
          size="sm"
          lineClamp={1}
          c="var(--mantine-color-anchor)"
        >
          {task?.prompt ?? `Task ${e.taskId.slice(0, 8)}`}
        </Text>
        <Text size="xs" c="dimmed" truncate>
          {task ? repoName(task.repository) : 'queued'}
          {owner !== null && <Text span hiddenFrom="sm" size="xs">{` · ${owner}`}</Text>}
        </Text>
        <PriorityBadge priority={e.priority} size="xs" />
        {/* On narrow screens the reason column is hidden and the reason sits under the task. */}
        <Stack hiddenFrom="md" gap={0}>
          {reason}
        </Stack>
      </Table.Td>
      {owner !== null && (
        <Table.Td visibleFrom="sm" maw={200}>
          <Text size="sm" truncate>
            {owner}
          </Text>
        </Table.Td>
      )}
      <Table.Td visibleFrom="md" maw={360}>
        {reason}
      </Table.Td>
      <Table.Td ta="right" style={{ whiteSpace: 'nowrap' }}>
        <Text size="sm">{formatDuration(now - Date.parse(e.queuedAt))}</Text>
        {estimate && (
          <Text size="xs" c="dimmed">
            {estimate}
          </Text>
        )}
      </Table.Td>
    </Table.Tr>
  );
}
