// The caller's workspaces (admins may switch to everyone's), one card each, and the form for a
// new one. The list polls, so status and usage stay current.
import { Alert, Button, Group, Modal, SimpleGrid, Stack, Switch, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { useUserNames, useWorkspaces } from '../../api/queries.js';
import { canRun, isAdmin, useSession } from '../../app/session.js';
import { NewWorkspaceForm } from './NewWorkspaceForm.js';
import { WorkspaceCard } from './WorkspaceCard.js';

export default function WorkspacesPage() {
  const me = useSession();
  const [everyone, setEveryone] = useState(false);
  const workspaces = useWorkspaces(everyone ? 'all' : 'me', 3000);
  const ownerName = useUserNames();
  const [formOpen, form] = useDisclosure(false);
  const items = workspaces.data?.items ?? [];

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Workspaces
        </Title>
        {canRun(me) && <Button onClick={form.open}>New workspace</Button>}
      </Group>
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          One isolated workspace per repository, with its files at /workspace.
        </Text>
        {isAdmin(me) && (
          <Switch
            label="Everyone's workspaces"
            checked={everyone}
            onChange={(e) => setEveryone(e.currentTarget.checked)}
          />
        )}
      </Group>
      {workspaces.isError && <Alert color="red">{workspaces.error.message}</Alert>}
      {workspaces.data && items.length === 0 && (
        <Text c="dimmed">
          No workspaces yet. {canRun(me) && 'Create one with “New workspace”, or start a task.'}
        </Text>
      )}
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        {items.map((w) => (
          <WorkspaceCard key={w.id} workspace={w} owner={everyone ? ownerName(w.ownerId) : null} />
        ))}
      </SimpleGrid>
      <Modal opened={formOpen} onClose={form.close} title="New workspace">
        <NewWorkspaceForm onDone={form.close} />
      </Modal>
    </Stack>
  );
}
