// Choosing a new password: on the settings page, and on the first sign-in with a generated
// one-time password (../SignIn/ChangePasswordPage.tsx). The server asks for the current password
// when the account has one (someone who only signs in through single sign-on sets a first
// password without it) and signs out the account's other sessions afterwards.
import { Button, Group, Stack } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError } from '../../../sdk/client/apiError.js';
import { PASSWORD_MIN_LENGTH } from '../../../sdk/limits.js';
import type { Me } from '../../../sdk/wire.js';
import { api } from '../../api/client.js';
import { FormAlert } from '../../lib/FormAlert.js';
import { asApiError, fieldRule, formMessage } from '../../lib/formErrors.js';
import { PasswordField } from '../../lib/PasswordField.js';

export interface PasswordFormProps {
  me: Me;
  /** The generated password of a first sign-in, which stands in for the current one. */
  oneTimePassword?: string;
  /** Called once the server has taken the new password. */
  onChanged: () => unknown;
}

export function PasswordForm({ me, oneTimePassword, onChanged }: PasswordFormProps) {
  const oneTime = oneTimePassword !== undefined;
  const hasPassword = oneTime || me.user.authMethods.includes('password');
  const [current, setCurrent] = useState(oneTimePassword ?? '');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const change = useMutation({
    mutationFn: async () => {
      // Checked here rather than by the server, which sees only one of the two.
      if (next !== again) throw new ApiError(0, 'mismatch', 'The two new passwords differ.');
      await api.users.update(me.user.id, {
        password: next,
        ...(hasPassword ? { currentPassword: current } : {}),
      });
    },
    onSuccess: async () => {
      setCurrent('');
      setNext('');
      setAgain('');
      await onChanged();
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };

  const error = change.error ? asApiError(change.error) : null;
  const message = formMessage(error, ['password', 'currentPassword']);
  return (
    <form onSubmit={submit} aria-label={oneTime ? 'Choose your password' : 'Change password'}>
      <Stack gap="sm" maw={420}>
        {hasPassword && (
          <PasswordField
            label={oneTime ? 'One-time password' : 'Current password'}
            required
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.currentTarget.value)}
            error={fieldRule(error, 'currentPassword')}
          />
        )}
        <PasswordField
          label={`New password (at least ${PASSWORD_MIN_LENGTH} characters)`}
          required
          minLength={PASSWORD_MIN_LENGTH}
          autoComplete="new-password"
          value={next}
          onChange={(e) => setNext(e.currentTarget.value)}
          error={fieldRule(error, 'password')}
        />
        <PasswordField
          label="New password again"
          required
          autoComplete="new-password"
          value={again}
          onChange={(e) => setAgain(e.currentTarget.value)}
        />
        <FormAlert message={message} />
        <Group>
          <Button type="submit" variant={oneTime ? 'filled' : 'light'} loading={change.isPending}>
            {oneTime ? 'Set password' : 'Change password'}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
