// Change your password. The server asks for the current one when you have one (someone who only
// signs in through single sign-on sets a first password without it) and signs out your other
// sessions afterwards.
import { Button, Group, Stack } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { PASSWORD_MIN_LENGTH } from '../../../sdk/limits.js';
import { ApiError, api } from '../../api/http.js';
import { useSession } from '../../app/session.js';
import { FormAlert } from '../../lib/FormAlert.js';
import { asApiError, fieldRule, formMessage } from '../../lib/formErrors.js';
import { notifyOk } from '../../lib/notify.js';
import { PasswordField } from '../../lib/PasswordField.js';
import { SettingsSection } from './SettingsSection.js';

export function PasswordForm() {
  const me = useSession();
  const hasPassword = me.user.authMethods.includes('password');
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (next !== again) {
      setError(new ApiError(0, 'mismatch', 'The two new passwords differ.'));
      return;
    }
    setBusy(true);
    try {
      await api('PATCH', `/api/v1/users/${me.user.id}`, {
        password: next,
        ...(hasPassword ? { currentPassword: current } : {}),
      });
      setCurrent('');
      setNext('');
      setAgain('');
      notifyOk('Password changed. Your other sessions were signed out.');
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  const message = formMessage(error, ['password', 'currentPassword']);
  return (
    <SettingsSection
      title="Password"
      description={
        hasPassword ? undefined : 'You sign in through single sign-on; you may add a password too.'
      }
    >
      <form onSubmit={submit} aria-label="Change password">
        <Stack gap="sm" maw={420}>
          {hasPassword && (
            <PasswordField
              label="Current password"
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
            <Button type="submit" variant="light" loading={busy}>
              Change password
            </Button>
          </Group>
        </Stack>
      </form>
    </SettingsSection>
  );
}
