// The new-workspace form: a repository URL (and an optional name). The server answers 201 for a
// new workspace and 200 for the one the caller already has; either way its page opens.
import { Alert, Button, Group, Stack, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useLocation } from 'wouter';
import type { CreateWorkspaceBody } from '../../../sdk/workspaceWire.js';
import { asApiError } from '../../lib/formErrors.js';
import { createWorkspace } from './workspaceApi.js';

export function NewWorkspaceForm({ onDone }: { onDone?: () => void }) {
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const [repository, setRepository] = useState('');
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: (body: CreateWorkspaceBody) => createWorkspace(body),
    onSuccess: async (w) => {
      await queryClient.invalidateQueries({ queryKey: ['workspaces'] });
      onDone?.();
      navigate(`/workspaces/${w.id}`);
    },
  });
  const error = create.error ? asApiError(create.error) : null;
  const fieldError = (f: string) => error?.fields.find((x) => x.path === `body.${f}`)?.rule;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ repository: repository.trim(), ...(name.trim() ? { name: name.trim() } : {}) });
  };

  const shown = ['body.repository', 'body.name'];
  return (
    <form onSubmit={submit} aria-label="New workspace">
      <Stack>
        <TextInput
          label="Repository URL"
          description="It is cloned into /workspace on the first start."
          placeholder="https://github.com/acme/app"
          required
          type="url"
          value={repository}
          onChange={(e) => setRepository(e.currentTarget.value)}
          error={fieldError('repository')}
          data-autofocus
        />
        <TextInput
          label="Name"
          placeholder="the repository's name"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={fieldError('name')}
        />
        {error && !error.fields.some((f) => shown.includes(f.path)) && (
          <Alert color="red" role="alert">
            {error.message}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button type="submit" loading={create.isPending}>
            Create and start
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
