// A workspace's status and, while it runs, its health from the agent's heartbeats.
import { Badge, Group } from '@mantine/core';
import type { Workspace } from '../../../sdk/workspaceWire.js';
import { workspaceStatusLook } from '../../lib/status.js';

export function WorkspaceStatusBadges({ workspace: w }: { workspace: Workspace }) {
  const look = workspaceStatusLook[w.status];
  return (
    <Group gap={6} wrap="nowrap" style={{ flexShrink: 0 }}>
      <Badge color={look.color} variant="light">
        {look.label}
      </Badge>
      {w.status === 'running' && w.health && (
        <Badge color={w.health === 'healthy' ? 'teal' : 'red'} variant="dot">
          {w.health === 'healthy' ? 'Healthy' : 'Unhealthy'}
        </Badge>
      )}
    </Group>
  );
}
