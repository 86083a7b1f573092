// Creates an API token. The secret is in the create response only, so it is shown here once, with
// a copy button, until the user dismisses it; the list shows just its prefix afterwards.
import { Alert, Button, CopyButton, Group, Select, Stack, Textarea, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { CreatedToken } from '../../../sdk/wire.js';
import { api } from '../../api/client.js';
import { FormAlert } from '../../lib/FormAlert.js';
import { asApiError, fieldRule, formMessage } from '../../lib/formErrors.js';

const LIFETIMES = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
  { value: 'never', label: 'Never expires' },
];

export function NewTokenForm() {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [lifetime, setLifetime] = useState('90');
  // The created token (with its secret) stays in the mutation's data until the user is done.
  const create = useMutation({
    mutationFn: (body: { name: string; expiresInDays: number | null }) => api.tokens.create(body),
    onSuccess: async () => {
      setName('');
      await queryClient.invalidateQueries({ queryKey: ['tokens'] });
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name: name.trim(), expiresInDays: lifetime === 'never' ? null : Number(lifetime) });
  };

  if (create.data) return <TokenOnce token={create.data} onDone={() => create.reset()} />;
  const error = create.error ? asApiError(create.error) : null;
  const message = formMessage(error, ['name', 'expiresInDays']);
  return (
    <form onSubmit={submit} aria-label="New API token">
      <Stack gap="xs">
        <Group align="flex-start" gap="xs">
          <TextInput
            label="Token name"
            placeholder="laptop, ci, …"
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={fieldRule(error, 'name')}
            style={{ flex: '1 1 14rem' }}
          />
          <Select
            label="Expires"
            data={LIFETIMES}
            value={lifetime}
            onChange={(v) => v && setLifetime(v)}
            allowDeselect={false}
            error={fieldRule(error, 'expiresInDays')}
            w={160}
          />
        </Group>
        <FormAlert message={message} />
        <Group>
          <Button type="submit" variant="light" loading={create.isPending}>
            Create token
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function TokenOnce({ token, onDone }: { token: CreatedToken; onDone: () => void }) {
  return (
    <Alert color="yellow" title={`Token “${token.name}” created`} role="status">
      <Stack gap="xs">
        <span>Copy it now. It will not be shown again; if you lose it, revoke it and create another.</span>
        <Group gap="xs" align="flex-end" wrap="nowrap">
          <Textarea
            label="Your new token"
            value={token.token}
            readOnly
            autosize
            minRows={1}
            onFocus={(e) => e.currentTarget.select()}
            classNames={{ input: 'mono' }}
            styles={{ input: { wordBreak: 'break-all' } }}
            style={{ flex: 1, minWidth: 0 }}
          />
          <CopyButton value={token.token}>
            {({ copied, copy }) => (
              <Button color={copied ? 'teal' : undefined} onClick={copy} w={96}>
                {copied ? 'Copied' : 'Copy'}
              </Button>
            )}
          </CopyButton>
        </Group>
        <Group>
          <Button variant="default" size="xs" onClick={onDone}>
            I have copied it
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}
