// Your own Anthropic API key, which the model gateway uses for your tasks instead of the
// organisation's. Write-only: the server keeps it encrypted and returns only its last four
// characters, so the input is emptied after saving and the key is never displayed.
import { Alert, Button, Group, Stack, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError } from '../../../sdk/client/apiError.js';
import type { SecretInfo, SecretList, SecretName } from '../../../sdk/secretWire.js';
import { api } from '../../api/client.js';
import { canRun, useSession } from '../../app/session.js';
import { FormAlert } from '../../lib/FormAlert.js';
import { formatAgo } from '../../lib/format.js';
import { asApiError, fieldRule, formMessage } from '../../lib/formErrors.js';
import { attempt, notifyOk } from '../../lib/notify.js';
import { PasswordField } from '../../lib/PasswordField.js';
import { orgRoleLabels } from '../../lib/roleLabels.js';
import { SettingsSection } from './SettingsSection.js';

const SECRETS_KEY = ['secrets', 'mine'] as const;
// Spelled out rather than imported: secretWire.ts's value exports would bring zod into the bundle.
const KEY_NAME: SecretName = 'anthropic-api-key';

export function AnthropicKeySection() {
  const me = useSession();
  // Viewers run no tasks, so a key of theirs would never be used; the API reserves it for members.
  const allowed = canRun(me);
  const secrets = useQuery({
    queryKey: SECRETS_KEY,
    queryFn: () => api.secrets.list(),
    enabled: allowed,
    retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
  });
  const refused = secrets.error instanceof ApiError && secrets.error.status === 403;
  return (
    <SettingsSection
      title="Anthropic API key"
      description="Optional. When saved, your tasks bill your own Anthropic account instead of the organisation's key."
    >
      {!allowed || refused ? (
        <Text size="sm" c="dimmed">
          Only members and up run tasks and save a personal key; your role is{' '}
          {orgRoleLabels[me.user.role].toLowerCase()}. Ask an admin if you need more.
        </Text>
      ) : (
        <>
          {secrets.isError && <Alert color="red">{secrets.error.message}</Alert>}
          {secrets.data && <SavedKey info={secrets.data.items.find((s) => s.name === 'anthropic-api-key')} />}
          <KeyForm replacing={Boolean(secrets.data?.items.length)} />
        </>
      )}
    </SettingsSection>
  );
}

function SavedKey({ info }: { info: SecretInfo | undefined }) {
  const queryClient = useQueryClient();
  if (!info)
    return (
      <Text size="sm" c="dimmed">
        No personal key saved; your tasks use the organisation's.
      </Text>
    );
  const remove = async () => {
    const done = await attempt(
      () => api.secrets.delete(KEY_NAME).then(() => true),
      'The key was not removed',
    );
    if (!done) return;
    notifyOk("Removed your key; your tasks use the organisation's again.");
    await queryClient.invalidateQueries({ queryKey: SECRETS_KEY });
  };
  return (
    <Group justify="space-between" gap="xs">
      <Text size="sm">
        Saved — ends in <span className="mono">…{info.last4}</span>
        <Text span c="dimmed" size="sm">
          {' '}
          · updated {formatAgo(info.updatedAt)}
        </Text>
      </Text>
      <Button size="compact-sm" variant="subtle" color="red" onClick={remove}>
        Remove key
      </Button>
    </Group>
  );
}

function KeyForm({ replacing }: { replacing: boolean }) {
  const queryClient = useQueryClient();
  const [value, setValue] = useState('');
  const save = useMutation({
    mutationFn: (key: string) => api.secrets.put(KEY_NAME, key),
    onSuccess: (saved) => {
      setValue('');
      queryClient.setQueryData<SecretList>(SECRETS_KEY, (old) => ({
        items: [...(old?.items ?? []).filter((s) => s.name !== saved.name), saved],
      }));
      notifyOk(`Saved — ends in …${saved.last4}`);
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(value.trim());
  };

  const error = save.error ? asApiError(save.error) : null;

  const message = formMessage(error, ['value']);
  return (
    <form onSubmit={submit} aria-label="Save Anthropic API key">
      <Stack gap="xs" maw={520}>
        <PasswordField
          label="Anthropic API key"
          description={replacing ? 'Saving a new key replaces the current one.' : undefined}
          placeholder="sk-ant-…"
          required
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.currentTarget.value)}
          error={fieldRule(error, 'value')}
        />
        <FormAlert message={message} />
        <Group>
          <Button type="submit" variant="light" loading={save.isPending}>
            Save key
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
