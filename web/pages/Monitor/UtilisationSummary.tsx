// The monitor's headline: how many workspaces run, how much of the CPU and memory they reserve
// they actually use right now, disk, the queue and this month's cost — at a glance, above the
// detail tables.
import { Paper, SimpleGrid, Space, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import type { Workspace } from '../../../sdk/workspaceWire.js';
import { formatBytes, formatUsd } from '../../lib/format.js';
import { UsageMeter } from '../../lib/UsageMeter.js';

export function UtilisationSummary({
  workspaces,
  queued,
  costUsd,
}: {
  workspaces: Workspace[];
  queued: number | undefined;
  costUsd: number | undefined;
}) {
  const running = workspaces.filter((w) => w.status === 'running');
  const sum = (f: (w: Workspace) => number) => running.reduce((t, w) => t + f(w), 0);
  const cpuUsed = sum((w) => (w.usage?.cpuPercent ?? 0) / 100);
  const cpuLimit = sum((w) => w.resources.cpu);
  const memUsed = sum((w) => w.usage?.memoryBytes ?? 0);
  const memLimit = sum((w) => w.resources.memoryBytes);
  return (
    <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }} spacing="sm" aria-label="Utilisation summary">
      <Stat label="Workspaces running">
        {running.length}
        <Text span c="dimmed" size="sm">
          {' '}
          of {workspaces.length}
        </Text>
      </Stat>
      <Paper withBorder p="sm" style={{ gridColumn: 'span 2' }}>
        {running.length === 0 ? (
          <>
            <Text size="xs" c="dimmed">
              CPU and memory in use
            </Text>
            <Text size="sm" mt={6}>
              No workspace is running.
            </Text>
          </>
        ) : (
          <>
            <UsageMeter
              label="CPU in use"
              used={cpuUsed}
              total={cpuLimit}
              text={`${cpuUsed.toFixed(2)} of ${cpuLimit} cores`}
            />
            <Space h={8} />
            <UsageMeter
              label="Memory in use"
              used={memUsed}
              total={memLimit}
              text={`${formatBytes(memUsed)} of ${formatBytes(memLimit)}`}
            />
          </>
        )}
      </Paper>
      <Stat label="Disk used">{formatBytes(sum((w) => w.usage?.diskBytes ?? 0))}</Stat>
      <Stat label="Tasks queued">{queued ?? '…'}</Stat>
      <Stat label="Cost this month">{costUsd === undefined ? '…' : formatUsd(costUsd)}</Stat>
    </SimpleGrid>
  );
}

function Stat({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Paper withBorder p="sm">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="xl" fw={600}>
        {children}
      </Text>
    </Paper>
  );
}
