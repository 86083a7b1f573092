// The first sign-in with a generated one-time password: choose your own before anything else.
// The sign-in page kept the one-time password for this tab, so it is filled in already.
import { Center, Paper, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import type { Me } from '../../../sdk/wire.js';
import { ME_KEY } from '../../app/session.js';
import { PasswordForm } from '../Settings/PasswordForm.js';

export function ChangePasswordPage({ me }: { me: Me }) {
  const queryClient = useQueryClient();
  const changed = async () => {
    sessionStorage.removeItem('rc-one-time');
    await queryClient.invalidateQueries({ queryKey: ME_KEY });
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
        <PasswordForm
          me={me}
          oneTimePassword={sessionStorage.getItem('rc-one-time') ?? ''}
          onChanged={changed}
        />
      </Paper>
    </Center>
  );
}
