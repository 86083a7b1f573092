// One workspace in the list: repository, status and health, usage against limits, actions.
import { Anchor, Card, Group, Stack, Text } from '@mantine/core';
import { Link } from 'wouter';
import type { Workspace } from '../../../sdk/workspaceWire.js';
import { repoName } from '../../lib/format.js';
import { UsageMeters } from './UsageMeters.js';
import { WorkspaceControls } from './WorkspaceControls.js';
import { WorkspaceStatusBadges } from './WorkspaceStatusBadges.js';

export function WorkspaceCard({ workspace: w, owner }: { workspace: Workspace; owner: string | null }) {
  const title = repoName(w.repository);
  // The name defaults to the repository's; show it only when someone chose another.
  const named = w.name !== title.split('/').pop();
  return (
    <Card withBorder padding="md" component="article" aria-label={`Workspace ${title}`}>
      <Stack gap="sm">
        <Group justify="space-between" align="flex-start" wrap="nowrap" gap="xs">
          <Stack gap={2} miw={0}>
            <Anchor component={Link} href={`/workspaces/${w.id}`} fw={600} truncate>
              {title}
              {named && ` (${w.name})`}
            </Anchor>
            <Text size="xs" c="dimmed" truncate title={w.repository}>
              {w.repository}
              {owner ? ` · ${owner}` : ''}
            </Text>
          </Stack>
          <WorkspaceStatusBadges workspace={w} />
        </Group>
        {w.statusReason && (
          <Text size="xs" c={w.status === 'failed' ? 'red' : 'dimmed'} lineClamp={2}>
            {w.statusReason}
          </Text>
        )}
        <UsageMeters workspace={w} />
        <Group justify="space-between" gap="xs">
          <WorkspaceControls workspace={w} />
          <Anchor component={Link} href={`/workspaces/${w.id}`} size="sm">
            Open files and terminals ›
          </Anchor>
        </Group>
      </Stack>
    </Card>
  );
}
