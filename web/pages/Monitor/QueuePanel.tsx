// Tasks waiting for their turn (status queued), oldest first, with how long each has waited so
// far; the clock ticks between polls.
import { Alert, Badge, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'wouter';
import type { Task } from '../../../sdk/taskWire.js';
import { useUserNames } from '../../api/queries.js';
import { formatDuration, repoName } from '../../lib/format.js';
import { useNow } from './useNow.js';

export function QueuePanel({
  tasks,
  error,
  showOwner,
}: {
  tasks: Task[] | undefined;
  error: Error | null;
  showOwner: boolean;
}) {
  const now = useNow();
  const ownerName = useUserNames();
  const queued = [...(tasks ?? [])].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return (
    <Stack gap="sm" component="section" aria-labelledby="queue-heading">
      <Title order={2} size="h4" id="queue-heading">
        Queue{' '}
        {tasks && (
          <Badge variant="light" color="gray" ml={4}>
            {tasks.length}
          </Badge>
        )}
      </Title>
      {error && <Alert color="red">{error.message}</Alert>}
      {tasks && queued.length === 0 && (
        <Text c="dimmed" size="sm">
          Nothing is waiting: every task has started.
        </Text>
      )}
      {queued.length > 0 && (
        <Table.ScrollContainer minWidth={0}>
          <Table verticalSpacing="xs" aria-label="Queued tasks">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Task</Table.Th>
                <Table.Th ta="right">Waiting</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {queued.map((t) => (
                <Table.Tr key={t.id}>
                  <Table.Td maw={320}>
                    <Text
                      component={Link}
                      href={`/tasks/${t.id}`}
                      size="sm"
                      lineClamp={1}
                      c="var(--mantine-color-anchor)"
                    >
                      {t.prompt}
                    </Text>
                    <Text size="xs" c="dimmed" truncate>
                      {repoName(t.repository)}
                      {showOwner && ` · ${ownerName(t.ownerId)}`}
                    </Text>
                  </Table.Td>
                  <Table.Td ta="right" style={{ whiteSpace: 'nowrap' }}>
                    <Text size="sm">{formatDuration(now - Date.parse(t.createdAt))}</Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
