// One team: its name and description, its members with their team role, and the ways to change
// all of that. Deleting asks first, since members lose what the team gave them at once.
import { Button, Group, Modal, Paper, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQueryClient } from '@tanstack/react-query';
import type { Team, TeamMember, TeamRole } from '../../../sdk/wire.js';
import { api } from '../../api/client.js';
import { attempt, notifyOk } from '../../lib/notify.js';
import { teamRoleOptions } from '../../lib/roleLabels.js';
import { AddMemberForm } from './AddMemberForm.js';
import { TeamForm } from './TeamForm.js';

export function TeamCard({ team }: { team: Team }) {
  const queryClient = useQueryClient();
  const [editOpen, edit] = useDisclosure(false);
  const [deleteOpen, del] = useDisclosure(false);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['teams'] });

  const remove = async () => {
    const done = await attempt(() => api.teams.delete(team.id).then(() => true), 'The team was not deleted');
    if (!done) return;
    del.close();
    notifyOk(`Deleted team ${team.name}.`);
    await refresh();
  };

  return (
    <Paper withBorder p="md" component="section" aria-label={`Team ${team.name}`}>
      <Stack gap="sm">
        <Group justify="space-between" align="flex-start" wrap="nowrap">
          <div style={{ minWidth: 0 }}>
            <Title order={3} size="h4">
              {team.name}
            </Title>
            <Text size="sm" c="dimmed">
              {team.description || 'No description'} · {team.members.length}{' '}
              {team.members.length === 1 ? 'member' : 'members'}
            </Text>
          </div>
          <Group gap={4} wrap="nowrap">
            <Button size="compact-sm" variant="subtle" onClick={edit.open}>
              Edit
            </Button>
            <Button size="compact-sm" variant="subtle" color="red" onClick={del.open}>
              Delete
            </Button>
          </Group>
        </Group>
        {team.members.length > 0 && (
          <Table.ScrollContainer minWidth={0}>
            <Table verticalSpacing={4} aria-label={`Members of ${team.name}`}>
              <Table.Tbody>
                {team.members.map((m) => (
                  <MemberRow key={m.userId} team={team} member={m} onChange={refresh} />
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <AddMemberForm team={team} />
      </Stack>
      <Modal opened={editOpen} onClose={edit.close} title={`Edit ${team.name}`}>
        <TeamForm team={team} onDone={edit.close} />
      </Modal>
      <Modal opened={deleteOpen} onClose={del.close} title={`Delete ${team.name}?`}>
        <Stack>
          <Text size="sm">
            The team and its {team.members.length} memberships are removed. The users themselves stay.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={del.close}>
              Keep it
            </Button>
            <Button color="red" onClick={remove}>
              Delete team
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Paper>
  );
}

function MemberRow({ team, member, onChange }: { team: Team; member: TeamMember; onChange: () => void }) {
  const setRole = async (role: TeamRole) => {
    const saved = await attempt(
      () => api.teams.setMember(team.id, member.userId, role),
      'The team role was not changed',
    );
    if (saved) onChange();
  };
  const remove = async () => {
    const done = await attempt(
      () => api.teams.removeMember(team.id, member.userId).then(() => true),
      'The member was not removed',
    );
    if (done) onChange();
  };
  return (
    <Table.Tr>
      <Table.Td maw={280}>
        <Text size="sm" truncate>
          {member.name ?? member.email}
        </Text>
        {member.name && (
          <Text size="xs" c="dimmed" truncate>
            {member.email}
          </Text>
        )}
      </Table.Td>
      <Table.Td w={150}>
        <Select
          aria-label={`Team role of ${member.email}`}
          size="xs"
          data={teamRoleOptions}
          value={member.role}
          allowDeselect={false}
          onChange={(v) => v && v !== member.role && setRole(v as TeamRole)}
        />
      </Table.Td>
      <Table.Td w={1}>
        <Button
          size="compact-xs"
          variant="subtle"
          color="red"
          aria-label={`Remove ${member.email} from ${team.name}`}
          onClick={remove}
        >
          Remove
        </Button>
      </Table.Td>
    </Table.Tr>
  );
}
