// Adds someone to a team: a searchable pick of the users not yet in it, and their team role.
import { Button, Group, Select } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { Team, TeamRole } from '../../../sdk/wire.js';
import { api } from '../../api/client.js';
import { useUsers } from '../../api/queries.js';
import { notifyError, notifyOk } from '../../lib/notify.js';
import { teamRoleOptions } from '../../lib/roleLabels.js';

export function AddMemberForm({ team }: { team: Team }) {
  const queryClient = useQueryClient();
  const users = useUsers();
  const [userId, setUserId] = useState<string | null>(null);
  const [role, setRole] = useState<TeamRole>('member');
  const inTeam = new Set(team.members.map((m) => m.userId));
  const candidates = (users.data?.items ?? [])
    .filter((u) => !inTeam.has(u.id))
    .map((u) => ({ value: u.id, label: u.name ? `${u.name} (${u.email})` : u.email }));

  const add = useMutation({
    mutationFn: (member: { userId: string; role: TeamRole }) =>
      api.teams.setMember(team.id, member.userId, member.role),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['teams'] });
      notifyOk(`Added to ${team.name}.`);
      setUserId(null);
    },
    onError: (err) => notifyError(err, 'The member was not added'),
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (userId) add.mutate({ userId, role });
  };

  return (
    <form onSubmit={submit} aria-label={`Add a member to ${team.name}`}>
      <Group align="flex-end" gap="xs">
        <Select
          label="Add member"
          placeholder={candidates.length ? 'Pick a user' : 'Everyone is in this team'}
          data={candidates}
          value={userId}
          onChange={setUserId}
          searchable
          nothingFoundMessage="No such user"
          disabled={candidates.length === 0}
          style={{ flex: '1 1 14rem' }}
        />
        <Select
          label="Team role"
          data={teamRoleOptions}
          value={role}
          onChange={(v) => v && setRole(v as TeamRole)}
          allowDeselect={false}
          w={140}
        />
        <Button type="submit" variant="light" loading={add.isPending} disabled={!userId}>
          Add
        </Button>
      </Group>
    </form>
  );
}
