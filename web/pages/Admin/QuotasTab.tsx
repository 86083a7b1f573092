// Admin › Quotas: every per-user and per-team override of the configured quotas, each field
// either set or "default", with a form to set one and a way to remove one (the defaults then apply
// again). Changes are audited by the server (quota.override_set, quota.override_removed).
import { Alert, Badge, Button, Flex, Group, Modal, Stack, Table, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { QuotaOverride } from '../../../sdk/schedulerWire.js';
import { useUsers } from '../../api/queries.js';
import { scheduler } from '../../api/schedulerApi.js';
import { formatAgo, formatTime } from '../../lib/format.js';
import { attempt, notifyOk } from '../../lib/notify.js';
import { hoursText } from '../../lib/queueText.js';
import { useQuotaOverrides, useTeams } from './adminQueries.js';
import { QuotaOverrideForm } from './QuotaOverrideForm.js';

/** A field of an override in plain text: its value, or "default" when it is not set. */
function plain(v: number | boolean | null, fmt: (v: number) => string = String): string {
  if (v === null) return 'default';
  if (typeof v === 'boolean') return v ? 'allowed' : 'not allowed';
  return fmt(v);
}

/** The same in a cell, with "default" dimmed. */
function shown(v: number | boolean | null, fmt?: (v: number) => string) {
  if (v !== null) return plain(v, fmt);
  return (
    <Text span size="sm" c="dimmed">
      default
    </Text>
  );
}

export function QuotasTab() {
  const overrides = useQuotaOverrides();
  const users = useUsers();
  const teams = useTeams();
  const [formOpen, form] = useDisclosure(false);
  const [editing, setEditing] = useState<QuotaOverride | undefined>(undefined);
  const nameOf = (o: QuotaOverride) =>
    o.subjectKind === 'user'
      ? (users.data?.items.find((u) => u.id === o.subjectId)?.email ?? o.subjectId.slice(0, 8))
      : (teams.data?.items.find((t) => t.id === o.subjectId)?.name ?? o.subjectId.slice(0, 8));
  const open = (o?: QuotaOverride) => {
    setEditing(o);
    form.open();
  };
  const items = overrides.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Text c="dimmed" size="sm">
          Overrides of the configured quotas; a user’s own beats their teams’. Tasks past a limit wait in the
          queue.
        </Text>
        <Button onClick={() => open()}>Set override</Button>
      </Group>
      {overrides.isError && <Alert color="red">{overrides.error.message}</Alert>}
      {overrides.data && items.length === 0 && (
        <Text c="dimmed">No overrides: everyone has the configured defaults.</Text>
      )}
      {items.length > 0 && (
        <Table.ScrollContainer minWidth={0}>
          <Table verticalSpacing="sm" aria-label="Quota overrides">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>For</Table.Th>
                <Table.Th>Concurrent tasks</Table.Th>
                <Table.Th visibleFrom="sm">Running workspaces</Table.Th>
                <Table.Th visibleFrom="sm">Hours a month</Table.Th>
                <Table.Th visibleFrom="md">Weight</Table.Th>
                <Table.Th visibleFrom="md">High priority</Table.Th>
                <Table.Th visibleFrom="lg">Updated</Table.Th>
                <Table.Th>
                  <span className="skip-link">Actions</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((o) => (
                <OverrideRow
                  key={`${o.subjectKind}:${o.subjectId}`}
                  override={o}
                  name={nameOf(o)}
                  onEdit={open}
                />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Modal
        opened={formOpen}
        onClose={form.close}
        title={editing ? `Quota override of ${nameOf(editing)}` : 'Set a quota override'}
        size="lg"
      >
        <QuotaOverrideForm key={editing ? editing.subjectId : 'new'} override={editing} onDone={form.close} />
      </Modal>
    </Stack>
  );
}

function OverrideRow({
  override: o,
  name,
  onEdit,
}: {
  override: QuotaOverride;
  name: string;
  onEdit: (o: QuotaOverride) => void;
}) {
  const queryClient = useQueryClient();
  const remove = async () => {
    const kind = o.subjectKind === 'user' ? 'users' : 'teams';
    const done = await attempt(
      () => scheduler.removeOverride(kind, o.subjectId).then(() => true),
      'The override was not removed',
    );
    if (!done) return;
    notifyOk(`Removed the override of ${name}: the defaults apply.`);
    await Promise.all(
      ['quotas', 'quota', 'queue'].map((key) => queryClient.invalidateQueries({ queryKey: [key] })),
    );
  };
  return (
    <Table.Tr>
      <Table.Td miw={160} maw={280}>
        <Text size="sm" fw={500} truncate title={name}>
          {name}
        </Text>
        <Badge variant="light" color={o.subjectKind === 'user' ? 'blue' : 'grape'} size="xs">
          {o.subjectKind}
        </Badge>
        {/* On a phone the other columns are hidden and say themselves here. */}
        <Text size="xs" c="dimmed" hiddenFrom="md">
          {[
            `workspaces ${plain(o.maxRunningWorkspaces)}`,
            `hours ${plain(o.maxMonthlyHours, hoursText)}`,
            `weight ${plain(o.fairShareWeight)}`,
            `high ${plain(o.allowHighPriority)}`,
          ].join(' · ')}
        </Text>
      </Table.Td>
      <Table.Td>{shown(o.maxConcurrentTasks)}</Table.Td>
      <Table.Td visibleFrom="sm">{shown(o.maxRunningWorkspaces)}</Table.Td>
      <Table.Td visibleFrom="sm">{shown(o.maxMonthlyHours, hoursText)}</Table.Td>
      <Table.Td visibleFrom="md">{shown(o.fairShareWeight)}</Table.Td>
      <Table.Td visibleFrom="md">{shown(o.allowHighPriority)}</Table.Td>
      <Table.Td visibleFrom="lg">
        <Text size="sm" title={formatTime(o.updatedAt)}>
          {formatAgo(o.updatedAt)}
        </Text>
      </Table.Td>
      <Table.Td w={1}>
        {/* Side by side, or one above the other on a phone. */}
        <Flex gap={4} direction={{ base: 'column', sm: 'row' }} align="flex-end">
          <Button
            size="compact-xs"
            variant="subtle"
            aria-label={`Edit the override of ${name}`}
            onClick={() => onEdit(o)}
          >
            Edit
          </Button>
          <Button
            size="compact-xs"
            variant="subtle"
            color="red"
            aria-label={`Remove the override of ${name}`}
            onClick={remove}
          >
            Remove
          </Button>
        </Flex>
      </Table.Td>
    </Table.Tr>
  );
}
