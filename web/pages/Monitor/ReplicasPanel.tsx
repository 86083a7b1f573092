// The control-plane replicas sharing the database (admins): where each is reached, what it runs,
// its last heartbeat and the agents connected to it. On SQLite there is one: this server.
import { Alert, Badge, Stack, Table, Text, Title } from '@mantine/core';
import type { ReplicaItem } from '../../../sdk/replicaWire.js';
import { formatTime } from '../../lib/format.js';
import { useReplicas } from './monitorQueries.js';

export function ReplicasPanel() {
  const replicas = useReplicas(true);
  const items = replicas.data?.items ?? [];
  return (
    <Stack gap="sm" component="section" aria-labelledby="replicas-heading">
      <Title order={2} size="h4" id="replicas-heading">
        Replicas
      </Title>
      {replicas.isError && <Alert color="red">{replicas.error.message}</Alert>}
      {items.length > 0 && (
        <Table.ScrollContainer minWidth={0}>
          <Table verticalSpacing="xs" aria-label="Replicas">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Address</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th visibleFrom="sm">Version</Table.Th>
                <Table.Th visibleFrom="md">Started</Table.Th>
                <Table.Th visibleFrom="md">Last heartbeat</Table.Th>
                <Table.Th>Agents</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((r) => (
                <ReplicaRow key={r.id} replica={r} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}

function ReplicaRow({ replica: r }: { replica: ReplicaItem }) {
  return (
    <Table.Tr>
      <Table.Td>
        <Text size="sm" ff="monospace" span>
          {r.address}
        </Text>
        {r.self && (
          <Text size="xs" c="dimmed" span>
            {' '}
            (this one)
          </Text>
        )}
      </Table.Td>
      {/* Wide enough for the badge: the table otherwise gives its room to the version. */}
      <Table.Td miw={90} style={{ whiteSpace: 'nowrap' }}>
        <Badge color={r.alive ? 'green' : 'red'} variant="light">
          {r.alive ? 'Alive' : 'Dead'}
        </Badge>
      </Table.Td>
      <Table.Td visibleFrom="sm">
        {r.version} · schema {r.schemaVersion}
      </Table.Td>
      <Table.Td visibleFrom="md">{formatTime(r.startedAt)}</Table.Td>
      <Table.Td visibleFrom="md">{formatTime(r.heartbeatAt)}</Table.Td>
      <Table.Td>{r.agents}</Table.Td>
    </Table.Tr>
  );
}
