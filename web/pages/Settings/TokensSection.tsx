// Your API tokens, for the CLI, scripts and CI: which exist, when each was last used, and revoking
// one (it stops working at once; the row stays so you can see what it was).
import { Alert, Badge, Button, Popover, Table, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { ApiToken } from '../../../sdk/wire.js';
import { api } from '../../api/client.js';
import { formatAgo, formatTime } from '../../lib/format.js';
import { attempt, notifyOk } from '../../lib/notify.js';
import { NewTokenForm } from './NewTokenForm.js';
import { SettingsSection } from './SettingsSection.js';

export function TokensSection() {
  const tokens = useQuery({
    queryKey: ['tokens', 'mine'],
    queryFn: () => api.tokens.list(),
  });
  return (
    <SettingsSection
      title="API tokens"
      description={
        <>
          Send one as <span className="mono">Authorization: Bearer rc_…</span> from scripts, CI or{' '}
          <span className="mono">rclaude</span>. A token acts as you, with your role.
        </>
      }
    >
      <NewTokenForm />
      {tokens.isError && <Alert color="red">{tokens.error.message}</Alert>}
      {tokens.data?.items.length === 0 && (
        <Text size="sm" c="dimmed">
          You have no tokens yet.
        </Text>
      )}
      {tokens.data && tokens.data.items.length > 0 && (
        <Table.ScrollContainer minWidth={0}>
          <Table verticalSpacing="xs" aria-label="API tokens">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Token</Table.Th>
                <Table.Th visibleFrom="sm">Created</Table.Th>
                <Table.Th visibleFrom="sm">Expires</Table.Th>
                <Table.Th visibleFrom="md">Last used</Table.Th>
                <Table.Th>Status</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {tokens.data.items.map((t) => (
                <TokenRow key={t.id} token={t} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </SettingsSection>
  );
}

function TokenRow({ token }: { token: ApiToken }) {
  const queryClient = useQueryClient();
  const expired = token.expiresAt !== null && Date.parse(token.expiresAt) <= Date.now();
  const revoke = async () => {
    const done = await attempt(
      () => api.tokens.revoke(token.id).then(() => true),
      'The token was not revoked',
    );
    if (!done) return;
    notifyOk(`Revoked ${token.name}.`);
    await queryClient.invalidateQueries({ queryKey: ['tokens'] });
  };
  const expires = token.expiresAt
    ? new Date(token.expiresAt).toLocaleDateString(undefined, { dateStyle: 'medium' })
    : 'never';
  const lastUsed = token.lastUsedAt ? formatAgo(token.lastUsedAt) : 'never';
  return (
    <Table.Tr>
      <Table.Td maw={260}>
        <Text size="sm" fw={500} truncate>
          {token.name}
        </Text>
        <Text size="xs" c="dimmed" className="mono">
          {token.prefix}…
        </Text>
        <Text size="xs" c="dimmed" hiddenFrom="sm">
          Expires {expires} · used {lastUsed}
        </Text>
      </Table.Td>
      <Table.Td visibleFrom="sm">
        <Text size="sm" title={formatTime(token.createdAt)}>
          {formatAgo(token.createdAt)}
        </Text>
      </Table.Td>
      <Table.Td visibleFrom="sm">
        <Text size="sm">{expires}</Text>
      </Table.Td>
      <Table.Td visibleFrom="md">
        <Text size="sm">{lastUsed}</Text>
      </Table.Td>
      <Table.Td>
        {token.revokedAt ? (
          <Badge color="gray" variant="light" title={formatTime(token.revokedAt)}>
            Revoked
          </Badge>
        ) : expired ? (
          <Badge color="gray" variant="light">
            Expired
          </Badge>
        ) : (
          <Popover position="bottom-end" withArrow trapFocus>
            <Popover.Target>
              <Button size="compact-xs" variant="subtle" color="red" aria-label={`Revoke ${token.name}`}>
                Revoke
              </Button>
            </Popover.Target>
            <Popover.Dropdown maw={260}>
              <Text size="sm" mb="xs">
                Anything using “{token.name}” stops working at once. This cannot be undone.
              </Text>
              <Button size="xs" color="red" onClick={revoke}>
                Revoke token
              </Button>
            </Popover.Dropdown>
          </Popover>
        )}
      </Table.Td>
    </Table.Tr>
  );
}
