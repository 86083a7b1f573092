// The top of a workspace's page: what it is, its state and why, its agent and driver, its usage
// against its limits, and start/stop/delete.
import { Anchor, Card, Group, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { useLocation } from 'wouter';
import type { Workspace } from '../../../sdk/workspaceWire.js';
import { useUserNames } from '../../api/queries.js';
import { formatAgo, repoName } from '../../lib/format.js';
import { UsageMeters } from './UsageMeters.js';
import { WorkspaceControls } from './WorkspaceControls.js';
import { WorkspaceStatusBadges } from './WorkspaceStatusBadges.js';

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Text size="sm" span>
      <Text span c="dimmed" size="sm">
        {label}{' '}
      </Text>
      {children}
    </Text>
  );
}

export function WorkspaceStatusPanel({ workspace: w }: { workspace: Workspace }) {
  const [, navigate] = useLocation();
  const ownerName = useUserNames();
  const since = w.status === 'running' ? w.startedAt : w.stoppedAt;
  return (
    <Card withBorder padding="md" component="section" aria-label="Workspace status">
      <Stack gap="sm">
        {/* The controls move under the title when the row is too narrow (a phone). */}
        <Group justify="space-between" align="flex-start" gap="xs">
          <Stack gap={2} miw={0} style={{ flex: '1 1 260px' }}>
            <Group gap="sm" miw={0}>
              <Title order={1} size="h3" style={{ overflowWrap: 'anywhere' }}>
                {repoName(w.repository)}
              </Title>
              <WorkspaceStatusBadges workspace={w} />
            </Group>
            <Anchor href={w.repository} target="_blank" rel="noreferrer" size="xs" c="dimmed" truncate>
              {w.repository}
            </Anchor>
          </Stack>
          <WorkspaceControls workspace={w} onDeleted={() => navigate('/workspaces')} />
        </Group>
        {w.statusReason && (
          <Text size="sm" c={w.status === 'failed' ? 'red' : undefined} role="status">
            {w.statusReason}
          </Text>
        )}
        <Group gap="lg" style={{ rowGap: 4 }}>
          <Fact label="Agent">{w.agentConnected ? 'connected' : 'not connected'}</Fact>
          <Fact label="Driver">{w.driver}</Fact>
          <Fact label="Owner">{ownerName(w.ownerId)}</Fact>
          {since && <Fact label={w.status === 'running' ? 'Started' : 'Stopped'}>{formatAgo(since)}</Fact>}
          {w.lastHeartbeatAt && <Fact label="Heartbeat">{formatAgo(w.lastHeartbeatAt)}</Fact>}
        </Group>
        <UsageMeters workspace={w} cols={4} />
      </Stack>
    </Card>
  );
}
