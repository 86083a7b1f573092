// Workspaces with their live usage from the agents' heartbeats: CPU against the cores they may
// use, memory against their limit, and disk. Stopped ones have no usage and show a dash.
import { Alert, Badge, Box, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'wouter';
import type { Workspace } from '../../../sdk/workspaceWire.js';
import { useUserNames } from '../../api/queries.js';
import { formatBytes, repoName } from '../../lib/format.js';
import { workspaceStatusLook } from '../../lib/status.js';
import { UsageMeter } from '../../lib/UsageMeter.js';

export function WorkspacesPanel({
  workspaces,
  error,
  showOwner,
}: {
  workspaces: Workspace[] | undefined;
  error: Error | null;
  showOwner: boolean;
}) {
  return (
    <Stack gap="sm" component="section" aria-labelledby="workspaces-heading">
      <Title order={2} size="h4" id="workspaces-heading">
        Workspaces
      </Title>
      {error && <Alert color="red">{error.message}</Alert>}
      {workspaces?.length === 0 && (
        <Text c="dimmed" size="sm">
          No workspaces yet.
        </Text>
      )}
      {workspaces && workspaces.length > 0 && (
        <Table.ScrollContainer minWidth={0}>
          <Table verticalSpacing="sm" aria-label="Workspace usage">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Workspace</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th visibleFrom="sm">CPU</Table.Th>
                <Table.Th visibleFrom="sm">Memory</Table.Th>
                <Table.Th visibleFrom="md">Disk</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {workspaces.map((w) => (
                <WorkspaceRow key={w.id} workspace={w} showOwner={showOwner} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}

function WorkspaceRow({ workspace: w, showOwner }: { workspace: Workspace; showOwner: boolean }) {
  const ownerName = useUserNames();
  const look = workspaceStatusLook[w.status];
  const usage = w.status === 'running' ? w.usage : null;
  const cpuText = usage ? `${usage.cpuPercent.toFixed(0)}% of ${w.resources.cpu * 100}%` : '—';
  const memText = usage
    ? `${formatBytes(usage.memoryBytes)} of ${formatBytes(w.resources.memoryBytes)}`
    : '—';
  return (
    <Table.Tr>
      <Table.Td maw={300}>
        <Text
          component={Link}
          href={`/workspaces/${w.id}`}
          size="sm"
          fw={500}
          truncate
          display="block"
          c="var(--mantine-color-anchor)"
        >
          {w.name}
        </Text>
        <Text size="xs" c="dimmed" truncate>
          {repoName(w.repository)}
          {showOwner && ` · ${ownerName(w.ownerId)}`}
        </Text>
        {usage && (
          <Text size="xs" c="dimmed" hiddenFrom="sm">
            {usage.cpuPercent.toFixed(0)}% CPU · {formatBytes(usage.memoryBytes)} · disk{' '}
            {formatBytes(usage.diskBytes)}
          </Text>
        )}
      </Table.Td>
      <Table.Td>
        <Badge color={look.color} variant="light">
          {look.label}
        </Badge>
      </Table.Td>
      <Table.Td visibleFrom="sm">
        <Box w={190}>
          {usage ? (
            <UsageMeter
              hideLabel
              label="CPU"
              used={usage.cpuPercent}
              total={w.resources.cpu * 100}
              text={cpuText}
            />
          ) : (
            <Text size="sm">—</Text>
          )}
        </Box>
      </Table.Td>
      <Table.Td visibleFrom="sm">
        <Box w={190}>
          {usage ? (
            <UsageMeter
              hideLabel
              label="Memory"
              used={usage.memoryBytes}
              total={w.resources.memoryBytes}
              text={memText}
            />
          ) : (
            <Text size="sm">—</Text>
          )}
        </Box>
      </Table.Td>
      <Table.Td visibleFrom="md">
        <Text size="sm">{usage ? formatBytes(usage.diskBytes) : '—'}</Text>
      </Table.Td>
    </Table.Tr>
  );
}
