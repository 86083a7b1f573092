// The first sign-in with a generated one-time password: choose your own before anything else.
import { Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { PASSWORD_MIN_LENGTH } from '../../../sdk/limits.js';
import type { Me } from '../../../sdk/wire.js';
import { api } from '../../api/http.js';
import { ME_KEY } from '../../app/session.js';
import { FormAlert } from '../../lib/FormAlert.js';

export function ChangePasswordPage({ me }: { me: Me }) {
  const queryClient = useQueryClient();
  const [current, setCurrent] = useState(() => sessionStorage.getItem('rc-one-time') ?? '');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    if (next !== again) return setError('The two new passwords differ.');
    setBusy(true);
    try {
      await api('PATCH', `/api/v1/users/${me.user.id}`, { password: next, currentPassword: current });
      sessionStorage.removeItem('rc-one-time');
      await queryClient.invalidateQueries({ queryKey: ME_KEY });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="md">
      <Paper withBorder p="xl" w="min(26rem, 100%)" component="main">
        <Title order={1} size="h2" mb="xs">
          Choose your password
        </Title>
        <Text c="dimmed" mb="lg">
          This account still has its one-time password. Choose your own to continue.
        </Text>
        <form onSubmit={submit}>
          <Stack>
            <PasswordInput
              label="One-time password"
              autoComplete="current-password"
              required
              value={current}
              onChange={(e) => setCurrent(e.currentTarget.value)}
            />
            <PasswordInput
              label={`New password (at least ${PASSWORD_MIN_LENGTH} characters)`}
              autoComplete="new-password"
              minLength={PASSWORD_MIN_LENGTH}
              required
              value={next}
              onChange={(e) => setNext(e.currentTarget.value)}
            />
            <PasswordInput
              label="New password again"
              autoComplete="new-password"
              minLength={PASSWORD_MIN_LENGTH}
              required
              value={again}
              onChange={(e) => setAgain(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy}>
              Set password
            </Button>
            <FormAlert message={error} />
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
