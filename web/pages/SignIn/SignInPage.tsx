// Sign in with a password, or through the organisation's identity provider when OIDC is set up.
import { Button, Center, Divider, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, setCsrfToken } from '../../api/client.js';
import { ME_KEY } from '../../app/session.js';
import { FormAlert } from '../../lib/FormAlert.js';

/** What the OIDC callback's ?error= codes mean, for a person. */
const OIDC_ERRORS: Record<string, string> = {
  oidc_domain_not_allowed: 'Your email domain may not sign in here.',
  oidc_email_unverified: 'Verify your email address with your identity provider first.',
  oidc_email_missing: 'Your identity provider did not share an email address.',
  oidc_state_mismatch: 'The sign-in expired or was started in another tab. Try again.',
  oidc_provider_error: 'Your identity provider refused the sign-in.',
  oidc_exchange_failed: 'The sign-in could not be completed. Try again.',
  account_disabled: 'This account is disabled; ask an administrator.',
};

export function SignInPage() {
  const queryClient = useQueryClient();
  const providers = useQuery({
    queryKey: ['auth-providers'],
    queryFn: () => api.auth.providers(),
  });
  const urlError = new URLSearchParams(window.location.search).get('error');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation({
    mutationFn: (body: { email: string; password: string }) => api.auth.login(body),
    onSuccess: (me, body) => {
      setCsrfToken(me.csrfToken);
      // The one-time password goes on to the change form, which asks for it again.
      sessionStorage.setItem('rc-one-time', me.passwordChangeRequired ? body.password : '');
      queryClient.setQueryData(ME_KEY, me);
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate({ email, password });
  };

  // An OIDC sign-in that came back with ?error= says why until the next attempt.
  const error =
    signIn.isIdle && urlError ? (OIDC_ERRORS[urlError] ?? 'Sign-in failed.') : signIn.error?.message;

  const returnTo = window.location.pathname + window.location.search;
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder p="xl" w="min(24rem, 100%)" component="main">
        <Title order={1} size="h2" mb="lg">
          Remote Claude
        </Title>
        {providers.data?.oidc.enabled && (
          <>
            <Button
              component="a"
              href={api.auth.oidcLoginUrl(returnTo.startsWith('/') ? returnTo : '/')}
              fullWidth
              variant="default"
            >
              {providers.data.oidc.label}
            </Button>
            <Divider label="or" my="md" />
          </>
        )}
        <form onSubmit={submit}>
          <Stack>
            <TextInput
              label="Email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
            />
            <PasswordInput
              label="Password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            <Button type="submit" loading={signIn.isPending}>
              Sign in
            </Button>
            <FormAlert message={error} />
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
