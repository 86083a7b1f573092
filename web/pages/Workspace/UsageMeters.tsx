// CPU, memory, processes and disk of a workspace against its limits, from the agent's last
// heartbeat. CPU comes as percent of one core, so the limit is cores × 100 %.
import { SimpleGrid } from '@mantine/core';
import type { Workspace } from '../../../sdk/workspaceWire.js';
import { formatBytes } from '../../lib/format.js';
import { UsageMeter } from '../../lib/UsageMeter.js';

export function UsageMeters({ workspace, cols = 2 }: { workspace: Workspace; cols?: number }) {
  const { resources: r, usage: u } = workspace;
  const live = workspace.status === 'running' ? u : null;
  // A stopped workspace has limits but no usage: only the numbers show, no bar.
  const limit = (n: number) => (live ? n : null);
  return (
    <SimpleGrid cols={{ base: 1, xs: 2, md: cols }} spacing="sm" verticalSpacing="xs">
      <UsageMeter
        label="CPU"
        used={live ? live.cpuPercent / 100 : 0}
        total={limit(r.cpu)}
        text={`${live ? (live.cpuPercent / 100).toFixed(2) : '—'} of ${r.cpu} cores`}
      />
      <UsageMeter
        label="Memory"
        used={live?.memoryBytes ?? 0}
        total={limit(r.memoryBytes)}
        text={`${live ? formatBytes(live.memoryBytes) : '—'} of ${formatBytes(r.memoryBytes)}`}
      />
      <UsageMeter
        label="Processes"
        used={live?.processes ?? 0}
        total={limit(r.pids)}
        text={`${live ? live.processes : '—'} of ${r.pids}`}
      />
      {/* The API reports no disk limit for a workspace, so disk shows what is used. */}
      <UsageMeter
        label="Disk"
        used={u?.diskBytes ?? 0}
        total={null}
        text={u ? `${formatBytes(u.diskBytes)} used` : '—'}
      />
    </SimpleGrid>
  );
}
