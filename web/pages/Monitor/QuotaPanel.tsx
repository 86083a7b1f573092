// The signed-in user's quotas (GET /api/v1/quota): concurrent tasks, running workspaces and this
// month's workspace-hours against their limits, with what is left and when the month resets. A
// task that would go past one waits in the queue, and its reason names the limit.
import { Alert, Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import type { Quota } from '../../../sdk/schedulerWire.js';
import { hoursText, quotaLine } from '../../lib/queueText.js';
import { UsageMeter } from '../../lib/UsageMeter.js';

export function QuotaPanel({ quota, error }: { quota: Quota | undefined; error: Error | null }) {
  return (
    <Stack gap="sm" component="section" aria-labelledby="quota-heading">
      <Title order={2} size="h4" id="quota-heading">
        Your quota
      </Title>
      {error && <Alert color="red">{error.message}</Alert>}
      {quota && (
        <Paper withBorder p="md">
          <Stack gap="sm">
            <SimpleGrid cols={{ base: 1, sm: 3, md: 1 }} spacing="sm">
              <UsageMeter
                label="Concurrent tasks"
                used={quota.use.concurrentTasks}
                total={quota.limits.maxConcurrentTasks}
                text={`${quota.use.concurrentTasks} of ${quota.limits.maxConcurrentTasks}`}
              />
              <UsageMeter
                label="Running workspaces"
                used={quota.use.runningWorkspaces}
                total={quota.limits.maxRunningWorkspaces}
                text={`${quota.use.runningWorkspaces} of ${quota.limits.maxRunningWorkspaces}`}
              />
              <UsageMeter
                label="Workspace-hours this month"
                used={quota.use.monthlyHours}
                total={quota.limits.maxMonthlyHours}
                text={`${hoursText(quota.use.monthlyHours)} of ${hoursText(quota.limits.maxMonthlyHours)} h`}
              />
            </SimpleGrid>
            <Text size="sm" data-testid="quota-line">
              {quotaLine(quota)}
            </Text>
            <Text size="xs" c="dimmed">
              A task past a limit waits in the queue until it frees · months are UTC · fair-share weight{' '}
              {quota.fairShareWeight} ·{' '}
              {quota.allowHighPriority ? 'you may start high-priority tasks' : 'high priority needs an admin'}
            </Text>
          </Stack>
        </Paper>
      )}
    </Stack>
  );
}
