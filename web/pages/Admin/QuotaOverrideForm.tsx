// Sets a user's or a team's quota override: each field empty means the configured default, so
// the form always sends all five (null for the empty ones) and says the whole override. For a
// user it shows what is in force now. The server's rules show under their inputs, anything else
// above the button.
import { Button, Group, NumberInput, SegmentedControl, Select, Stack, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { QuotaOverride, QuotaOverrideBody } from '../../../sdk/schedulerWire.js';
import { useUsers } from '../../api/queries.js';
import { type QuotaSubjectKind, scheduler } from '../../api/schedulerApi.js';
import { FormAlert } from '../../lib/FormAlert.js';
import { asApiError, fieldRule, formMessage } from '../../lib/formErrors.js';
import { notifyOk } from '../../lib/notify.js';
import { hoursText } from '../../lib/queueText.js';
import { useTeams } from './adminQueries.js';

const FIELDS = [
  'maxConcurrentTasks',
  'maxRunningWorkspaces',
  'maxMonthlyHours',
  'fairShareWeight',
  'allowHighPriority',
];

type NumberField = 'maxConcurrentTasks' | 'maxRunningWorkspaces' | 'maxMonthlyHours' | 'fairShareWeight';
type HighChoice = 'default' | 'allow' | 'deny';

const HIGH_OPTIONS: { value: HighChoice; label: string }[] = [
  { value: 'default', label: 'Default' },
  { value: 'allow', label: 'Allowed' },
  { value: 'deny', label: 'Not allowed' },
];

const kindOf = (o: QuotaOverride): QuotaSubjectKind => (o.subjectKind === 'user' ? 'users' : 'teams');

export function QuotaOverrideForm({ override, onDone }: { override?: QuotaOverride; onDone: () => void }) {
  const queryClient = useQueryClient();
  const users = useUsers();
  const teams = useTeams();
  const [kind, setKind] = useState<QuotaSubjectKind>(override ? kindOf(override) : 'users');
  const [subjectId, setSubjectId] = useState<string | null>(override?.subjectId ?? null);
  const [values, setValues] = useState<Record<NumberField, number | string>>({
    maxConcurrentTasks: override?.maxConcurrentTasks ?? '',
    maxRunningWorkspaces: override?.maxRunningWorkspaces ?? '',
    maxMonthlyHours: override?.maxMonthlyHours ?? '',
    fairShareWeight: override?.fairShareWeight ?? '',
  });
  const [high, setHigh] = useState<HighChoice>(
    override?.allowHighPriority == null ? 'default' : override.allowHighPriority ? 'allow' : 'deny',
  );
  const subjects =
    kind === 'users'
      ? (users.data?.items ?? []).map((u) => ({
          value: u.id,
          label: u.name ? `${u.name} (${u.email})` : u.email,
        }))
      : (teams.data?.items ?? []).map((t) => ({ value: t.id, label: t.name }));
  const inForce = useQuery({
    queryKey: ['quota', 'user', subjectId],
    queryFn: () => scheduler.quota(subjectId ?? undefined),
    enabled: kind === 'users' && subjectId !== null,
  });

  const save = useMutation({
    mutationFn: (c: { kind: QuotaSubjectKind; id: string; body: QuotaOverrideBody }) =>
      scheduler.setOverride(c.kind, c.id, c.body),
    onSuccess: async () => {
      await Promise.all(
        ['quotas', 'quota', 'queue'].map((key) => queryClient.invalidateQueries({ queryKey: [key] })),
      );
      notifyOk(`Saved the quota override of ${subjects.find((s) => s.value === subjectId)?.label ?? 'it'}.`);
      onDone();
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!subjectId) return;
    const num = (f: NumberField) => (typeof values[f] === 'number' ? (values[f] as number) : null);
    save.mutate({
      kind,
      id: subjectId,
      body: {
        maxConcurrentTasks: num('maxConcurrentTasks'),
        maxRunningWorkspaces: num('maxRunningWorkspaces'),
        maxMonthlyHours: num('maxMonthlyHours'),
        fairShareWeight: num('fairShareWeight'),
        allowHighPriority: high === 'default' ? null : high === 'allow',
      },
    });
  };

  const error = save.error ? asApiError(save.error) : null;
  const number = (field: NumberField, label: string, integer: boolean) => (
    <NumberInput
      label={label}
      placeholder="default"
      value={values[field]}
      onChange={(v) => setValues((old) => ({ ...old, [field]: v }))}
      allowDecimal={!integer}
      allowNegative={false}
      // The server's rule says what is out of range; the input does not silently change it.
      clampBehavior="none"
      error={fieldRule(error, field)}
    />
  );
  const q = inForce.data;
  return (
    <form onSubmit={submit} aria-label="Quota override">
      <Stack>
        {!override && (
          <SegmentedControl
            aria-label="Override for"
            value={kind}
            onChange={(v) => {
              setKind(v as QuotaSubjectKind);
              setSubjectId(null);
            }}
            data={[
              { value: 'users', label: 'A user' },
              { value: 'teams', label: 'A team' },
            ]}
          />
        )}
        <Select
          label={kind === 'users' ? 'User' : 'Team'}
          placeholder={kind === 'users' ? 'Pick a user' : 'Pick a team'}
          required
          data={subjects}
          value={subjectId}
          onChange={setSubjectId}
          searchable
          disabled={!!override}
          nothingFoundMessage={kind === 'users' ? 'No such user' : 'No such team'}
          data-autofocus
        />
        {q && (
          <Text size="xs" c="dimmed" data-testid="quota-in-force">
            In force now: {q.limits.maxConcurrentTasks} concurrent tasks · {q.limits.maxRunningWorkspaces}{' '}
            running workspaces · {hoursText(q.limits.maxMonthlyHours)} workspace-hours a month · weight{' '}
            {q.fairShareWeight} · high priority {q.allowHighPriority ? 'allowed' : 'not allowed'}
          </Text>
        )}
        <Text size="sm" c="dimmed">
          Leave a field empty for the configured default.
          {kind === 'teams' &&
            ' It applies to members without an override of their own; across several teams the most generous wins.'}
        </Text>
        <Group grow align="flex-start">
          {number('maxConcurrentTasks', 'Concurrent tasks', true)}
          {number('maxRunningWorkspaces', 'Running workspaces', true)}
        </Group>
        <Group grow align="flex-start">
          {number('maxMonthlyHours', 'Workspace-hours a month', false)}
          {number('fairShareWeight', 'Fair-share weight', false)}
        </Group>
        <Select
          label="High priority"
          data={HIGH_OPTIONS}
          value={high}
          onChange={(v) => v && setHigh(v as HighChoice)}
          allowDeselect={false}
          error={fieldRule(error, 'allowHighPriority')}
        />
        <FormAlert message={formMessage(error, FIELDS)} />
        <Group justify="flex-end">
          <Button type="submit" loading={save.isPending} disabled={!subjectId}>
            Save override
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
