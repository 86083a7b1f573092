// Model cost this month by user, most expensive first, with the total. The server limits members
// to their own row, so the same table serves both.
import { Alert, Stack, Table, Text, Title } from '@mantine/core';
import type { UsageItem, UsageReport } from '../../../sdk/usageWire.js';
import { useSession } from '../../app/session.js';
import { formatTokens, formatUsd } from '../../lib/format.js';

const tokensOf = (u: UsageItem) => u.inputTokens + u.outputTokens + u.cacheCreationTokens + u.cacheReadTokens;

export function CostPanel({
  report,
  error,
  everyone,
}: {
  report: UsageReport | undefined;
  error: Error | null;
  everyone: boolean;
}) {
  const me = useSession();
  const items = report?.items ?? [];
  const total = items.reduce(
    (t, u) => ({
      cost: t.cost + u.costUsd,
      tokens: t.tokens + tokensOf(u),
      requests: t.requests + u.requests,
    }),
    { cost: 0, tokens: 0, requests: 0 },
  );
  const who = (u: UsageItem) =>
    u.key === me.user.id ? `${u.label ?? me.user.email} (you)` : (u.label ?? u.key ?? 'outside a task');
  return (
    <Stack gap="sm" component="section" aria-labelledby="cost-heading">
      <Title order={2} size="h4" id="cost-heading">
        {everyone ? 'Cost this month by user' : 'Your cost this month'}
      </Title>
      {error && <Alert color="red">{error.message}</Alert>}
      {report && items.length === 0 && (
        <Text c="dimmed" size="sm">
          No model requests this month yet.
        </Text>
      )}
      {items.length > 0 && (
        <Table.ScrollContainer minWidth={0}>
          <Table verticalSpacing="xs" aria-label="Cost by user">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>User</Table.Th>
                <Table.Th ta="right" visibleFrom="sm">
                  Requests
                </Table.Th>
                <Table.Th ta="right">Tokens</Table.Th>
                <Table.Th ta="right">Cost</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((u) => (
                <Table.Tr key={u.key ?? 'none'}>
                  <Table.Td maw={240}>
                    <Text size="sm" truncate>
                      {who(u)}
                    </Text>
                  </Table.Td>
                  <Table.Td ta="right" visibleFrom="sm">
                    {u.requests}
                  </Table.Td>
                  <Table.Td ta="right">{formatTokens(tokensOf(u))}</Table.Td>
                  <Table.Td ta="right">{formatUsd(u.costUsd)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
            <Table.Tfoot>
              <Table.Tr fw={600}>
                <Table.Td>Total</Table.Td>
                <Table.Td ta="right" visibleFrom="sm">
                  {total.requests}
                </Table.Td>
                <Table.Td ta="right">{formatTokens(total.tokens)}</Table.Td>
                <Table.Td ta="right">{formatUsd(total.cost)}</Table.Td>
              </Table.Tr>
            </Table.Tfoot>
          </Table>
        </Table.ScrollContainer>
      )}
      {report && (
        <Text size="xs" c="dimmed">
          Since{' '}
          {new Date(report.from).toLocaleDateString(undefined, { dateStyle: 'medium', timeZone: 'UTC' })}{' '}
          (UTC) · estimates at the gateway's prices
        </Text>
      )}
    </Stack>
  );
}
