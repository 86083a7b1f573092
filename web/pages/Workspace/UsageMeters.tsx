// CPU, memory, processes and disk of a workspace against its limits, from the agent's last
// heartbeat. CPU comes as percent of one core, so the limit is cores × 100 %.
import { Group, Progress, SimpleGrid, Stack, Text } from '@mantine/core';
import type { Workspace } from '../../../sdk/workspaceWire.js';
import { formatBytes } from '../../lib/format.js';

function Meter({ label, value, detail }: { label: string; value?: number | null; detail: string }) {
  const pct = value == null ? 0 : Math.min(100, Math.max(0, value * 100));
  const color = pct >= 90 ? 'red' : pct >= 70 ? 'yellow' : 'blue';
  return (
    <Stack gap={4}>
      <Group justify="space-between" gap="xs" wrap="nowrap">
        <Text size="xs" c="dimmed" fw={500}>
          {label}
        </Text>
        <Text size="xs" truncate>
          {detail}
        </Text>
      </Group>
      {value !== undefined && (
        <Progress value={pct} color={color} size="sm" aria-label={`${label}: ${detail}`} />
      )}
    </Stack>
  );
}

export function UsageMeters({ workspace, cols = 2 }: { workspace: Workspace; cols?: number }) {
  const { resources: r, usage: u } = workspace;
  const live = workspace.status === 'running' ? u : null;
  const cores = live ? live.cpuPercent / 100 : 0;
  return (
    <SimpleGrid cols={{ base: 1, xs: 2, md: cols }} spacing="sm" verticalSpacing="xs">
      <Meter
        label="CPU"
        value={live ? cores / r.cpu : null}
        detail={live ? `${cores.toFixed(2)} of ${r.cpu} cores` : `— of ${r.cpu} cores`}
      />
      <Meter
        label="Memory"
        value={live ? live.memoryBytes / r.memoryBytes : null}
        detail={`${live ? formatBytes(live.memoryBytes) : '—'} of ${formatBytes(r.memoryBytes)}`}
      />
      <Meter
        label="Processes"
        value={live ? live.processes / r.pids : null}
        detail={`${live ? live.processes : '—'} of ${r.pids}`}
      />
      {/* The API reports no disk limit for a workspace, so disk shows what is used. */}
      <Meter label="Disk" detail={u ? `${formatBytes(u.diskBytes)} used` : '—'} />
    </SimpleGrid>
  );
}
