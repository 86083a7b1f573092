// Create a team, or rename one and change its description: the same two inputs either way.
import { Button, Group, Stack, Textarea, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { Team } from '../../../sdk/wire.js';
import { api } from '../../api/client.js';
import { FormAlert } from '../../lib/FormAlert.js';
import { asApiError, fieldRule, formMessage } from '../../lib/formErrors.js';
import { notifyOk } from '../../lib/notify.js';

const FIELDS = ['name', 'description'];

export function TeamForm({ team, onDone }: { team?: Team; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(team?.name ?? '');
  const [description, setDescription] = useState(team?.description ?? '');
  const save = useMutation({
    mutationFn: (body: { name: string; description: string | null }) =>
      team ? api.teams.update(team.id, body) : api.teams.create(body),
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries({ queryKey: ['teams'] });
      notifyOk(team ? `Saved team ${saved.name}.` : `Created team ${saved.name}.`);
      onDone();
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ name: name.trim(), description: description.trim() || null });
  };

  const error = save.error ? asApiError(save.error) : null;
  const message = formMessage(error, FIELDS);
  return (
    <form onSubmit={submit} aria-label={team ? 'Edit team' : 'New team'}>
      <Stack>
        <TextInput
          label="Team name"
          required
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={fieldRule(error, 'name')}
          data-autofocus
        />
        <Textarea
          label="Description"
          placeholder="optional"
          autosize
          minRows={2}
          maxRows={6}
          value={description}
          onChange={(e) => setDescription(e.currentTarget.value)}
          error={fieldRule(error, 'description')}
        />
        <FormAlert message={message} />
        <Group justify="flex-end">
          <Button type="submit" loading={save.isPending}>
            {team ? 'Save team' : 'Create team'}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
