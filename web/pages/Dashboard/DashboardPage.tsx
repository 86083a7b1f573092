// The task dashboard: active and finished tasks with repository, owner, status, duration, cost
// and their workspace's CPU and memory; stop, run again and open; and the new-task form.
import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Group,
  Modal,
  SegmentedControl,
  Stack,
  Switch,
  Table,
  Text,
  Title,
  Tooltip,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import type { Task } from '../../../sdk/taskWire.js';
import type { Workspace } from '../../../sdk/workspaceWire.js';
import { useTasks, useUserNames, useWorkspaces } from '../../api/queries.js';
import { canRun, isAdmin, useSession } from '../../app/session.js';
import { formatBytes, formatDuration, formatUsd, repoName } from '../../lib/format.js';
import { attempt } from '../../lib/notify.js';
import { PriorityBadge, QueuePlace } from '../../lib/QueuePlace.js';
import { isTaskFinished, taskStatusLook } from '../../lib/status.js';
import { NewTaskForm } from './NewTaskForm.js';
import { refreshAfterTaskChange, runAgain, stopTask, taskElapsedMs } from './taskActions.js';

type View = 'active' | 'finished' | 'all';

export function DashboardPage() {
  const me = useSession();
  const [everyone, setEveryone] = useState(false);
  const owner = everyone ? 'all' : 'me';
  const tasks = useTasks(owner);
  const workspaces = useWorkspaces(owner);
  const [view, setView] = useState<View>('active');
  const [formOpen, form] = useDisclosure(false);
  const byWorkspace = new Map((workspaces.data?.items ?? []).map((w) => [w.id, w]));
  const items = (tasks.data?.items ?? []).filter((t) =>
    view === 'all' ? true : view === 'finished' ? isTaskFinished(t.status) : !isTaskFinished(t.status),
  );
  const counts = {
    active: (tasks.data?.items ?? []).filter((t) => !isTaskFinished(t.status)).length,
    finished: (tasks.data?.items ?? []).filter((t) => isTaskFinished(t.status)).length,
  };

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          Tasks
        </Title>
        {canRun(me) && <Button onClick={form.open}>New task</Button>}
      </Group>
      <Group justify="space-between">
        <SegmentedControl
          aria-label="Which tasks"
          value={view}
          onChange={(v) => setView(v as View)}
          data={[
            { value: 'active', label: `Active (${counts.active})` },
            { value: 'finished', label: `Finished (${counts.finished})` },
            { value: 'all', label: 'All' },
          ]}
        />
        {isAdmin(me) && (
          <Switch
            label="Everyone's tasks"
            checked={everyone}
            onChange={(e) => setEveryone(e.currentTarget.checked)}
          />
        )}
      </Group>
      {tasks.isError && <Alert color="red">{tasks.error.message}</Alert>}
      {tasks.data && items.length === 0 && (
        <Text c="dimmed">
          {view === 'active' ? 'No task is running or waiting.' : 'No tasks here yet.'}{' '}
          {canRun(me) && 'Start one with “New task”.'}
        </Text>
      )}
      {items.length > 0 && <TaskTable tasks={items} workspaces={byWorkspace} showOwner={everyone} />}
      <Modal opened={formOpen} onClose={form.close} title="New task" size="lg">
        <NewTaskForm onDone={form.close} />
      </Modal>
    </Stack>
  );
}

function TaskTable({
  tasks,
  workspaces,
  showOwner,
}: {
  tasks: Task[];
  workspaces: Map<string, Workspace>;
  showOwner: boolean;
}) {
  const ownerName = useUserNames();
  return (
    <Table.ScrollContainer minWidth={0}>
      <Table highlightOnHover verticalSpacing="xs" aria-label="Tasks">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Task</Table.Th>
            <Table.Th visibleFrom="md">Repository</Table.Th>
            {showOwner && <Table.Th visibleFrom="md">Owner</Table.Th>}
            <Table.Th>Status</Table.Th>
            <Table.Th visibleFrom="sm">Duration</Table.Th>
            <Table.Th visibleFrom="sm">Cost</Table.Th>
            <Table.Th visibleFrom="lg">CPU / memory</Table.Th>
            <Table.Th>
              <span className="skip-link">Actions</span>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tasks.map((t) => (
            <TaskRow
              key={t.id}
              task={t}
              workspace={t.workspaceId ? workspaces.get(t.workspaceId) : undefined}
              owner={showOwner ? ownerName(t.ownerId) : null}
            />
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function TaskRow({
  task,
  workspace,
  owner,
}: {
  task: Task;
  workspace: Workspace | undefined;
  owner: string | null;
}) {
  const me = useSession();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const look = taskStatusLook[task.status];
  const finished = isTaskFinished(task.status);
  const mine = task.ownerId === me.user.id;
  const refresh = () => refreshAfterTaskChange(queryClient);
  const queued = task.status === 'queued';
  const usage = workspace?.status === 'running' ? workspace.usage : null;
  return (
    <Table.Tr>
      <Table.Td maw={380}>
        <Text
          component={Link}
          href={`/tasks/${task.id}`}
          size="sm"
          fw={500}
          lineClamp={2}
          c="var(--mantine-color-anchor)"
        >
          {task.prompt}
        </Text>
        <Text size="xs" c="dimmed" hiddenFrom="md">
          {repoName(task.repository)}
        </Text>
        {queued && task.queue && <QueuePlace place={task.queue} />}
      </Table.Td>
      <Table.Td visibleFrom="md">
        <Text size="sm">{repoName(task.repository)}</Text>
      </Table.Td>
      {owner !== null && <Table.Td visibleFrom="md">{owner}</Table.Td>}
      {/* The badge keeps its whole label; the prompt's cell is the one that wraps on a phone. */}
      <Table.Td w={1}>
        <Stack gap={4} align="flex-start">
          <Badge
            color={look.color}
            variant="light"
            styles={{ root: { maxWidth: 'none' }, label: { overflow: 'visible' } }}
          >
            {look.label}
          </Badge>
          <PriorityBadge priority={task.priority} />
        </Stack>
      </Table.Td>
      <Table.Td visibleFrom="sm">{formatDuration(taskElapsedMs(task))}</Table.Td>
      <Table.Td visibleFrom="sm">{formatUsd(task.costUsd)}</Table.Td>
      <Table.Td visibleFrom="lg">
        {usage ? `${usage.cpuPercent.toFixed(0)}% · ${formatBytes(usage.memoryBytes)}` : '—'}
      </Table.Td>
      <Table.Td>
        <Group gap={4} wrap="nowrap" justify="flex-end">
          {!finished && (mine || isAdmin(me)) && (
            <Tooltip label={queued ? 'Cancel: leave the queue' : 'Stop'}>
              <ActionIcon
                variant="subtle"
                color="red"
                aria-label={queued ? 'Cancel task' : 'Stop task'}
                onClick={() => attempt(() => stopTask(task)).then(refresh)}
              >
                ■
              </ActionIcon>
            </Tooltip>
          )}
          {finished && mine && canRun(me) && (
            <Tooltip label="Run again">
              <ActionIcon
                variant="subtle"
                aria-label="Run again"
                onClick={() =>
                  attempt(() => runAgain(task)).then((t) => {
                    refresh();
                    if (t) navigate(`/tasks/${t.id}`);
                  })
                }
              >
                ↻
              </ActionIcon>
            </Tooltip>
          )}
          <Tooltip label="Open log">
            <ActionIcon variant="subtle" aria-label="Open log" component={Link} href={`/tasks/${task.id}`}>
              ›
            </ActionIcon>
          </Tooltip>
        </Group>
      </Table.Td>
    </Table.Tr>
  );
}
