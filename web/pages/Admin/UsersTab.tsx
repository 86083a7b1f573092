// Admin › Users: everyone in the organisation with their role, state and last sign-in; change a
// role, disable or enable, create a user. Who may do what to whom (owners-only, not yourself, the
// last owner) is the server's rule: its message is shown when it refuses.
import {
  Alert,
  Badge,
  Box,
  Button,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { OrgRole, UpdateUserBody, User } from '../../../sdk/wire.js';
import { api } from '../../api/client.js';
import { USERS_KEY, useUsers } from '../../api/queries.js';
import { useSession } from '../../app/session.js';
import { formatAgo, formatTime } from '../../lib/format.js';
import { notifyError, notifyOk } from '../../lib/notify.js';
import { orgRoleLabels, orgRoleOptions } from '../../lib/roleLabels.js';
import { CreateUserForm } from './CreateUserForm.js';

export function UsersTab() {
  const users = useUsers();
  const [formOpen, form] = useDisclosure(false);
  const [search, setSearch] = useState('');
  const needle = search.trim().toLowerCase();
  const shown = (users.data?.items ?? []).filter(
    (u) => !needle || u.email.includes(needle) || (u.name ?? '').toLowerCase().includes(needle),
  );
  return (
    <Stack>
      <Group justify="space-between" align="flex-end">
        <TextInput
          label="Search users"
          placeholder="name or email"
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          description={users.data ? `${shown.length} of ${users.data.items.length} users` : 'Loading users…'}
          inputWrapperOrder={['label', 'input', 'description']}
          style={{ flex: '0 1 18rem' }}
        />
        <Button onClick={form.open}>New user</Button>
      </Group>
      {users.isError && <Alert color="red">{users.error.message}</Alert>}
      {users.data && (
        <Table.ScrollContainer minWidth={0}>
          <Table verticalSpacing="sm" aria-label="Users">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>User</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th visibleFrom="sm">Last sign-in</Table.Th>
                <Table.Th visibleFrom="sm">Status</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {shown.map((u) => (
                <UserRow key={u.id} user={u} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Modal opened={formOpen} onClose={form.close} title="New user">
        <CreateUserForm onDone={form.close} />
      </Modal>
    </Stack>
  );
}

function UserRow({ user }: { user: User }) {
  const me = useSession();
  const queryClient = useQueryClient();
  const self = user.id === me.user.id;
  const who = user.name ?? user.email;

  const change = useMutation({
    mutationFn: (c: { body: UpdateUserBody; done: string }) => api.users.update(user.id, c.body),
    onSuccess: (saved, c) => {
      queryClient.setQueryData<{ items: User[] }>(USERS_KEY, (old) =>
        old ? { items: old.items.map((u) => (u.id === saved.id ? saved : u)) } : old,
      );
      notifyOk(c.done);
    },
    onError: (err) => notifyError(err, `${who} was not changed`),
  });
  const update = (body: UpdateUserBody, done: string) => change.mutate({ body, done });
  const busy = change.isPending;

  const lastSignIn = user.lastLoginAt ? formatAgo(user.lastLoginAt) : 'never';
  const status = (
    <Group gap="xs" wrap="nowrap">
      <Badge variant="light" color={user.disabled ? 'gray' : 'green'}>
        {user.disabled ? 'Disabled' : 'Active'}
      </Badge>
      {!self && (
        <Button
          size="compact-xs"
          variant="subtle"
          color={user.disabled ? 'green' : 'red'}
          loading={busy}
          aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${user.email}`}
          onClick={() =>
            update(
              { disabled: !user.disabled },
              user.disabled ? `${who} can sign in again.` : `${who} is disabled and signed out.`,
            )
          }
        >
          {user.disabled ? 'Enable' : 'Disable'}
        </Button>
      )}
    </Group>
  );
  return (
    <Table.Tr>
      <Table.Td maw={320}>
        <Text size="sm" fw={500} truncate>
          {user.name ?? user.email}
          {self && (
            <Text span c="dimmed" size="sm">
              {' '}
              (you)
            </Text>
          )}
        </Text>
        {user.name && (
          <Text size="xs" c="dimmed" truncate>
            {user.email}
          </Text>
        )}
        <Text size="xs" c="dimmed" hiddenFrom="sm">
          {user.lastLoginAt ? `Signed in ${lastSignIn}` : 'Never signed in'}
        </Text>
      </Table.Td>
      <Table.Td>
        <Select
          aria-label={`Role of ${user.email}`}
          data={orgRoleOptions}
          value={user.role}
          allowDeselect={false}
          disabled={self || busy}
          w={120}
          size="xs"
          onChange={(v) =>
            v &&
            v !== user.role &&
            update({ role: v as OrgRole }, `${who} is now ${orgRoleLabels[v as OrgRole].toLowerCase()}.`)
          }
        />
        {/* On a phone the status column is hidden and its controls sit under the role. */}
        <Box hiddenFrom="sm" mt={6}>
          {status}
        </Box>
      </Table.Td>
      <Table.Td visibleFrom="sm">
        <Text size="sm" title={user.lastLoginAt ? formatTime(user.lastLoginAt) : undefined}>
          {lastSignIn}
        </Text>
      </Table.Td>
      <Table.Td visibleFrom="sm">{status}</Table.Td>
    </Table.Tr>
  );
}
