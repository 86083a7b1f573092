// The resource monitor: a utilisation summary, the nodes and control-plane replicas (admins),
// workspaces with live usage, the queue, your quota and this month's cost. Admins see the whole organisation; everyone else sees their own
// workspaces, tasks and cost, and the page never calls an admin-only endpoint for them.
import { Grid, Group, Stack, Text, Title } from '@mantine/core';
import { useQueue, useQuota, useWorkspaces } from '../../api/queries.js';
import { isAdmin, useSession } from '../../app/session.js';
import { CostPanel } from './CostPanel.js';
import { useMonthlyCost, useQueuedTasks } from './monitorQueries.js';
import { NodesPanel } from './NodesPanel.js';
import { QueuePanel } from './QueuePanel.js';
import { QuotaPanel } from './QuotaPanel.js';
import { ReplicasPanel } from './ReplicasPanel.js';
import { UtilisationSummary } from './UtilisationSummary.js';
import { WorkspacesPanel } from './WorkspacesPanel.js';

export default function MonitorPage() {
  const me = useSession();
  const admin = isAdmin(me);
  const workspaces = useWorkspaces(admin ? 'all' : 'me', 3000);
  const queue = useQueue(admin ? 'all' : 'me');
  const queuedTasks = useQueuedTasks(admin);
  const quota = useQuota(5000);
  const cost = useMonthlyCost();
  const totalCost = cost.data?.items.reduce((t, u) => t + u.costUsd, 0);
  return (
    <Stack gap="lg">
      <Group justify="space-between" align="baseline">
        <Title order={1} size="h2">
          Resources
        </Title>
        <Text size="sm" c="dimmed">
          {admin ? 'The whole organisation' : 'Your workspaces and tasks'} · updates every few seconds
        </Text>
      </Group>
      <UtilisationSummary
        workspaces={workspaces.data?.items ?? []}
        queued={queue.data?.entries.length}
        costUsd={totalCost}
      />
      {admin && <NodesPanel />}
      {admin && <ReplicasPanel />}
      <WorkspacesPanel workspaces={workspaces.data?.items} error={workspaces.error} showOwner={admin} />
      <QueuePanel
        entries={queue.data?.entries}
        tasks={queuedTasks.data?.items}
        error={queue.error}
        showOwner={admin}
        myId={me.user.id}
      />
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 6 }}>
          <QuotaPanel quota={quota.data} error={quota.error} />
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <CostPanel report={cost.data} error={cost.error} everyone={admin} />
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
