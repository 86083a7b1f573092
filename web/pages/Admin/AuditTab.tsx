// Admin › Audit log: newest first, filtered by actor, action (or prefix), target and dates, with
// "Load older" following the server's cursor.
import { Alert, Button, Group, Stack, Table, Text } from '@mantine/core';
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError } from '../../../sdk/client/apiError.js';
import { api } from '../../api/client.js';
import { type AuditFilter, AuditFilters, auditParams, NO_FILTER } from './AuditFilters.js';
import { AuditRow } from './AuditRow.js';

const PAGE_SIZE = 50;

export function AuditTab() {
  const [filter, setFilter] = useState<AuditFilter>(NO_FILTER);
  const audit = useInfiniteQuery({
    queryKey: ['audit', filter],
    queryFn: ({ pageParam }) =>
      api.audit.list({ ...auditParams(filter), limit: PAGE_SIZE, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
    retry: false,
    // The old entries stay until the filtered ones arrive, so the table does not blink.
    placeholderData: keepPreviousData,
  });
  const entries = audit.data?.pages.flatMap((p) => p.items) ?? [];
  const error = audit.error instanceof ApiError ? audit.error : null;

  return (
    <Stack>
      <AuditFilters error={error} onApply={setFilter} />
      {audit.isError && (
        <Alert color="red" role="alert">
          {audit.error.message}
        </Alert>
      )}
      {audit.data && entries.length === 0 && <Text c="dimmed">No entries match these filters.</Text>}
      {entries.length > 0 && (
        <Table.ScrollContainer minWidth={0}>
          <Table verticalSpacing="xs" aria-label="Audit log">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>At</Table.Th>
                <Table.Th visibleFrom="sm">Actor</Table.Th>
                <Table.Th>Action</Table.Th>
                <Table.Th visibleFrom="md">Target</Table.Th>
                <Table.Th visibleFrom="sm">Result</Table.Th>
                <Table.Th visibleFrom="lg">Status</Table.Th>
                <Table.Th visibleFrom="lg">IP</Table.Th>
                <Table.Th>
                  <span className="skip-link">Details</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {entries.map((e) => (
                <AuditRow key={e.id} entry={e} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          {entries.length > 0 && `${entries.length} entries shown, newest first`}
        </Text>
        <Group gap="xs">
          <Button variant="default" onClick={() => audit.refetch()} loading={audit.isRefetching}>
            Refresh
          </Button>
          {audit.hasNextPage && (
            <Button variant="light" onClick={() => audit.fetchNextPage()} loading={audit.isFetchingNextPage}>
              Load older
            </Button>
          )}
        </Group>
      </Group>
    </Stack>
  );
}
