// Sign in with a password, or through the organisation's identity provider when OIDC is set up.
import { Button, Center, Divider, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { AuthProviders, Me } from '../../../sdk/wire.js';
import { api, setCsrfToken } from '../../api/http.js';
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
    queryFn: () => api<AuthProviders>('GET', '/api/v1/auth/providers'),
  });
  const urlError = new URLSearchParams(window.location.search).get('error');
  const [error, setError] = useState(urlError ? (OIDC_ERRORS[urlError] ?? 'Sign-in failed.') : '');
  const [busy, setBusy] = useState(false);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    setBusy(true);
    try {
      const me = await api<Me>('POST', '/api/v1/auth/login', { email, password });
      setCsrfToken(me.csrfToken);
      // The one-time password goes on to the change form, which asks for it again.
      sessionStorage.setItem('rc-one-time', me.passwordChangeRequired ? password : '');
      queryClient.setQueryData(ME_KEY, me);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

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
              href={`/api/v1/auth/oidc/login?returnTo=${encodeURIComponent(returnTo.startsWith('/') ? returnTo : '/')}`}
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
            <Button type="submit" loading={busy}>
              Sign in
            </Button>
            <FormAlert message={error} />
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
