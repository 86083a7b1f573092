// The audit log's filters. They apply on submit (Enter or the button), not on each keystroke, so
// typing an action prefix does not fire a query per letter.
import { Button, Grid, Group, TextInput } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import type { ApiError } from '../../../sdk/client/apiError.js';

export interface AuditFilter {
  actor: string;
  action: string;
  target: string;
  /** yyyy-mm-dd from the date inputs, in the viewer's time zone. */
  from: string;
  to: string;
}

export const NO_FILTER: AuditFilter = { actor: '', action: '', target: '', from: '', to: '' };

const queryRule = (error: ApiError | null, field: string) =>
  error?.fields.find((f) => f.path === `querystring.${field}`)?.rule;

export function AuditFilters({
  error,
  onApply,
}: {
  error: ApiError | null;
  onApply: (filter: AuditFilter) => void;
}) {
  const [draft, setDraft] = useState<AuditFilter>(NO_FILTER);
  const set = (key: keyof AuditFilter) => (e: { currentTarget: HTMLInputElement }) => {
    const value = e.currentTarget.value;
    setDraft((d) => ({ ...d, [key]: value }));
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply({
      ...draft,
      actor: draft.actor.trim(),
      action: draft.action.trim(),
      target: draft.target.trim(),
    });
  };
  const clear = () => {
    setDraft(NO_FILTER);
    onApply(NO_FILTER);
  };
  return (
    <form onSubmit={submit} aria-label="Audit log filters">
      <Grid gap="sm">
        <Grid.Col span={{ base: 6, md: 3 }}>
          <TextInput
            label="Actor"
            placeholder="email or user id"
            value={draft.actor}
            onChange={set('actor')}
            error={queryRule(error, 'actor')}
          />
        </Grid.Col>
        <Grid.Col span={{ base: 6, md: 3 }}>
          <TextInput
            label="Action"
            placeholder="user.create, or user."
            aria-description="An exact action, or a prefix ending in a dot"
            value={draft.action}
            onChange={set('action')}
            error={queryRule(error, 'action')}
          />
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 2 }}>
          <TextInput
            label="Target"
            placeholder="id or type:id"
            value={draft.target}
            onChange={set('target')}
            error={queryRule(error, 'target')}
          />
        </Grid.Col>
        <Grid.Col span={{ base: 6, md: 2 }}>
          <TextInput
            label="From"
            type="date"
            value={draft.from}
            onChange={set('from')}
            error={queryRule(error, 'from')}
          />
        </Grid.Col>
        <Grid.Col span={{ base: 6, md: 2 }}>
          <TextInput
            label="To"
            type="date"
            value={draft.to}
            onChange={set('to')}
            error={queryRule(error, 'to')}
          />
        </Grid.Col>
      </Grid>
      <Group justify="flex-end" mt="sm" gap="xs">
        <Button variant="default" onClick={clear}>
          Clear
        </Button>
        <Button type="submit">Apply filters</Button>
      </Group>
    </form>
  );
}

/** The filter as query parameters: dates become the start of that day and of the day after `to`. */
export function auditParams(f: AuditFilter): Record<string, string | undefined> {
  const startOf = (day: string, plusDays = 0) => {
    const d = new Date(`${day}T00:00:00`);
    d.setDate(d.getDate() + plusDays);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  };
  return {
    actor: f.actor || undefined,
    action: f.action || undefined,
    target: f.target || undefined,
    from: f.from ? startOf(f.from) : undefined,
    to: f.to ? startOf(f.to, 1) : undefined,
  };
}
