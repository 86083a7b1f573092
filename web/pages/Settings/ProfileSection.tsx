// Who you are to the platform: email, role, teams and sign-in methods (read-only; admins change
// roles and teams), and the display name, which you may change yourself.
import { Badge, Button, Group, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import type { User } from '../../../sdk/wire.js';
import { api } from '../../api/client.js';
import { ME_KEY, useSession } from '../../app/session.js';
import { FormAlert } from '../../lib/FormAlert.js';
import { asApiError, fieldRule, formMessage } from '../../lib/formErrors.js';
import { notifyOk } from '../../lib/notify.js';
import { orgRoleLabels, teamRoleLabels } from '../../lib/roleLabels.js';
import { SettingsSection } from './SettingsSection.js';

const methodLabels: Record<User['authMethods'][number], string> = {
  password: 'Password',
  oidc: 'Single sign-on',
};

export function ProfileSection() {
  const me = useSession();
  const queryClient = useQueryClient();
  const [name, setName] = useState(me.user.name ?? '');
  const unchanged = name.trim() === (me.user.name ?? '');
  const save = useMutation({
    mutationFn: (newName: string | null) => api.users.update(me.user.id, { name: newName }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ME_KEY });
      notifyOk('Saved your name.');
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(name.trim() || null);
  };

  const error = save.error ? asApiError(save.error) : null;

  const message = formMessage(error, ['name']);
  return (
    <SettingsSection title="Profile">
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
        <Item label="Email">{me.user.email}</Item>
        <Item label="Role">{orgRoleLabels[me.user.role]}</Item>
        <Item label="Teams">
          {me.teams.length === 0 ? (
            <Text size="sm" c="dimmed">
              None
            </Text>
          ) : (
            <Group gap={6}>
              {me.teams.map((t) => (
                <Badge key={t.id} variant="light" color="gray" tt="none">
                  {t.name} · {teamRoleLabels[t.role].toLowerCase()}
                </Badge>
              ))}
            </Group>
          )}
        </Item>
        <Item label="Sign-in methods">
          {me.user.authMethods.map((m) => methodLabels[m]).join(', ') || 'None'}
        </Item>
      </SimpleGrid>
      <form onSubmit={submit} aria-label="Your name">
        <Stack gap="xs">
          <Group align="flex-end" gap="xs">
            <TextInput
              label="Display name"
              placeholder="shown instead of your email"
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              error={fieldRule(error, 'name')}
              style={{ flex: '1 1 16rem' }}
            />
            <Button type="submit" variant="light" loading={save.isPending} disabled={unchanged}>
              Save name
            </Button>
          </Group>
          <FormAlert message={message} />
        </Stack>
      </form>
    </SettingsSection>
  );
}

function Item({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      {typeof children === 'string' ? (
        <Text size="sm" style={{ wordBreak: 'break-word' }}>
          {children}
        </Text>
      ) : (
        children
      )}
    </div>
  );
}
