// The new-task form: repository, prompt, model, permission mode, budget and queue priority. On
// success it opens the live task view. High priority is offered only to those the server allows
// it (GET /api/v1/quota says allowHighPriority); it answers 403 to anyone else.
import {
  Alert,
  Autocomplete,
  Button,
  Group,
  NumberInput,
  Select,
  SimpleGrid,
  Stack,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useLocation } from 'wouter';
import { type PermissionMode, permissionModes } from '../../../sdk/limits.js';
import type { CreateTaskBody, Priority } from '../../../sdk/taskWire.js';
import { api } from '../../api/client.js';
import { useQuota, useWorkspaces } from '../../api/queries.js';
import { asApiError } from '../../lib/formErrors.js';
import { refreshAfterTaskChange } from './taskActions.js';

const MODE_LABELS: Record<PermissionMode, string> = {
  default: 'Ask before Bash, Write and Edit',
  acceptEdits: 'Accept file edits, ask for the rest',
  bypassPermissions: 'Never ask',
  plan: 'Plan only, change nothing',
};

const PRIORITY_OPTIONS: { value: Priority; label: string }[] = [
  { value: 'low', label: 'Low: after normal tasks' },
  { value: 'normal', label: 'Normal' },
  { value: 'high', label: 'High: before normal tasks' },
];

const SHOWN_FIELDS = ['repository', 'prompt', 'model', 'maxBudgetUsd', 'permissionMode', 'priority'].map(
  (f) => `body.${f}`,
);

export function NewTaskForm({ onDone }: { onDone?: () => void }) {
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const workspaces = useWorkspaces('me');
  const repositories = [...new Set((workspaces.data?.items ?? []).map((w) => w.repository))];
  const [repository, setRepository] = useState('');
  const [prompt, setPrompt] = useState('');
  const [model, setModel] = useState('');
  const [mode, setMode] = useState<PermissionMode>('default');
  const [budget, setBudget] = useState<number | string>('');
  const [priority, setPriority] = useState<Priority>('normal');
  const quota = useQuota();
  const highAllowed = quota.data?.allowHighPriority === true;
  const priorities = PRIORITY_OPTIONS.filter((p) => p.value !== 'high' || highAllowed);
  const create = useMutation({
    mutationFn: (body: CreateTaskBody) => api.tasks.create(body),
    onSuccess: async (task) => {
      await refreshAfterTaskChange(queryClient);
      onDone?.();
      navigate(`/tasks/${task.id}`);
    },
  });
  const error = create.error ? asApiError(create.error) : null;

  const fieldError = (path: string) => error?.fields.find((f) => f.path === `body.${path}`)?.rule;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: CreateTaskBody = { repository: repository.trim(), prompt, permissionMode: mode };
    if (model.trim()) body.model = model.trim();
    if (typeof budget === 'number') body.maxBudgetUsd = budget;
    if (priority !== 'normal') body.priority = priority;
    create.mutate(body);
  };

  return (
    <form onSubmit={submit} aria-label="New task">
      <Stack>
        <Autocomplete
          label="Repository"
          placeholder="https://github.com/acme/app"
          required
          data={repositories}
          value={repository}
          onChange={setRepository}
          error={fieldError('repository')}
        />
        <Textarea
          label="Prompt"
          placeholder="Fix the flaky test in api/ and explain the cause"
          required
          autosize
          minRows={3}
          maxRows={12}
          value={prompt}
          onChange={(e) => setPrompt(e.currentTarget.value)}
          error={fieldError('prompt')}
        />
        <Group grow align="flex-start">
          <TextInput
            label="Model"
            placeholder="default"
            value={model}
            onChange={(e) => setModel(e.currentTarget.value)}
            error={fieldError('model')}
          />
          <NumberInput
            label="Budget (USD)"
            placeholder="no limit"
            min={0.01}
            max={10000}
            decimalScale={2}
            value={budget}
            onChange={setBudget}
            error={fieldError('maxBudgetUsd')}
          />
        </Group>
        {/* Side by side from a small tablet up; the modes' labels need the whole width on a phone. */}
        <SimpleGrid cols={{ base: 1, xs: 2 }}>
          <Select
            label="Permission mode"
            data={permissionModes.map((m) => ({ value: m, label: MODE_LABELS[m] }))}
            value={mode}
            onChange={(v) => v && setMode(v as PermissionMode)}
            allowDeselect={false}
            error={fieldError('permissionMode')}
          />
          <Select
            label="Priority"
            data={priorities}
            value={priority}
            onChange={(v) => v && setPriority(v as Priority)}
            allowDeselect={false}
            // Until the quota says whether high is allowed; a failed read offers low and normal.
            disabled={quota.isPending}
            error={fieldError('priority')}
          />
        </SimpleGrid>
        {error && !error.fields.some((f) => SHOWN_FIELDS.includes(f.path)) && (
          <Alert color="red" role="alert">
            {error.message}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button type="submit" loading={create.isPending}>
            Start task
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
