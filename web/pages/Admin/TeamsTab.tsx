// Admin › Teams: every team with its members, and a new-team form.
import { Alert, Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useTeams } from './adminQueries.js';
import { TeamCard } from './TeamCard.js';
import { TeamForm } from './TeamForm.js';

export function TeamsTab() {
  const teams = useTeams();
  const [formOpen, form] = useDisclosure(false);
  return (
    <Stack>
      <Group justify="space-between">
        <Text c="dimmed" size="sm">
          Teams group users; maintainers manage their team's members.
        </Text>
        <Button onClick={form.open}>New team</Button>
      </Group>
      {teams.isError && <Alert color="red">{teams.error.message}</Alert>}
      {teams.data?.items.length === 0 && <Text c="dimmed">No teams yet.</Text>}
      {teams.data?.items.map((t) => (
        <TeamCard key={t.id} team={t} />
      ))}
      <Modal opened={formOpen} onClose={form.close} title="New team">
        <TeamForm onDone={form.close} />
      </Modal>
    </Stack>
  );
}
