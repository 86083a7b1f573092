// The new-user form: email, name, role and an optional password (users who sign in only through
// single sign-on have none). Server rules (email format, password length, owners-only) show on
// the inputs or above the button.
import { Button, Group, Select, Stack, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { PASSWORD_MIN_LENGTH } from '../../../sdk/limits.js';
import type { CreateUserBody, OrgRole } from '../../../sdk/wire.js';
import { api } from '../../api/client.js';
import { FormAlert } from '../../lib/FormAlert.js';
import { asApiError, fieldRule, formMessage } from '../../lib/formErrors.js';
import { notifyOk } from '../../lib/notify.js';
import { PasswordField } from '../../lib/PasswordField.js';
import { orgRoleOptions } from '../../lib/roleLabels.js';

const FIELDS = ['email', 'name', 'role', 'password'];

export function CreateUserForm({ onDone }: { onDone: () => void }) {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<OrgRole>('member');
  const [password, setPassword] = useState('');
  const create = useMutation({
    mutationFn: (body: CreateUserBody) => api.users.create(body),
    onSuccess: async (user) => {
      await queryClient.invalidateQueries({ queryKey: ['users'] });
      notifyOk(`Created ${user.email}.`);
      onDone();
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: CreateUserBody = { email: email.trim(), role };
    if (name.trim()) body.name = name.trim();
    if (password) body.password = password;
    create.mutate(body);
  };

  const error = create.error ? asApiError(create.error) : null;
  const message = formMessage(error, FIELDS);
  return (
    <form onSubmit={submit} aria-label="New user">
      <Stack>
        <TextInput
          label="Email"
          type="email"
          required
          autoComplete="off"
          value={email}
          onChange={(e) => setEmail(e.currentTarget.value)}
          error={fieldRule(error, 'email')}
          data-autofocus
        />
        <TextInput
          label="Name"
          placeholder="optional"
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          error={fieldRule(error, 'name')}
        />
        <Select
          label="Role"
          data={orgRoleOptions}
          value={role}
          onChange={(v) => v && setRole(v as OrgRole)}
          allowDeselect={false}
          error={fieldRule(error, 'role')}
        />
        <PasswordField
          label="Password"
          description={`At least ${PASSWORD_MIN_LENGTH} characters. Leave empty for someone who signs in only through single sign-on.`}
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
          error={fieldRule(error, 'password')}
        />
        <FormAlert message={message} />
        <Group justify="flex-end">
          <Button type="submit" loading={create.isPending}>
            Create user
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
