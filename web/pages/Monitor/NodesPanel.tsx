// The hosts workspaces run on (admins): health, and what the workspaces placed there reserve
// against the capacity placement enforces on the node (configured, else the machine's size).
import { Alert, Badge, Group, Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import type { NodeItem } from '../../../sdk/nodeWire.js';
import { formatBytes } from '../../lib/format.js';
import { UsageMeter } from '../../lib/UsageMeter.js';
import { useNodes } from './monitorQueries.js';

const cores = (n: number) => `${Number.isInteger(n) ? n : n.toFixed(1)} ${n === 1 ? 'core' : 'cores'}`;

/**
 * What the bars measure against: the capacity placement enforces, which is the configured one or,
 * where none is configured, the machine's own size.
 */
function limits(node: NodeItem): string {
  const { cpu, memoryBytes } = node.capacity;
  if (cpu === null && memoryBytes === null) return 'Capacity unknown: its engine did not answer.';
  if (node.host && cpu === node.host.cpu && memoryBytes === node.host.memoryBytes)
    return "Capacity: the host's own size; placement never reserves beyond it.";
  return 'Capacity: as configured; placement never reserves beyond it.';
}

/** A node reached through its `rclaude node` daemon: whether it is connected, and its last report. */
function daemonLine(d: NonNullable<NodeItem['daemon']>): string {
  if (!d.connected) return 'Through rclaude node: not connected.';
  const r = d.report;
  const docker = r?.dockerVersion ? `, Docker ${r.dockerVersion}, ${r.containers} containers running` : '';
  return `Through rclaude node, connected to replica ${d.replicaId?.slice(0, 8) ?? '?'}${docker}.`;
}

export function NodesPanel() {
  const nodes = useNodes(true);
  return (
    <Stack gap="sm" component="section" aria-labelledby="nodes-heading">
      <Title order={2} size="h4" id="nodes-heading">
        Nodes
      </Title>
      {nodes.isError && <Alert color="red">{nodes.error.message}</Alert>}
      {nodes.data?.items.length === 0 && <Text c="dimmed">No nodes are configured.</Text>}
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
        {nodes.data?.items.map((n) => (
          <NodeCard key={n.name} node={n} />
        ))}
      </SimpleGrid>
    </Stack>
  );
}

function NodeCard({ node }: { node: NodeItem }) {
  const cpuTotal = node.capacity.cpu ?? node.host?.cpu ?? null;
  const memTotal = node.capacity.memoryBytes ?? node.host?.memoryBytes ?? null;
  return (
    <Paper withBorder p="md" component="section" aria-label={`Node ${node.name}`}>
      <Stack gap="sm">
        <Group justify="space-between" wrap="nowrap">
          <Group gap="xs" wrap="nowrap" style={{ minWidth: 0 }}>
            <Text fw={600} truncate>
              {node.name}
            </Text>
            <Badge variant="outline" color="gray" size="sm">
              {node.driver}
            </Badge>
          </Group>
          <Group gap="xs" wrap="nowrap">
            {node.cordoned && (
              <Badge color="yellow" variant="light" title="Drained: it receives no new workspace">
                Cordoned
              </Badge>
            )}
            <Badge color={node.healthy ? 'green' : 'red'} variant="light">
              {node.healthy ? 'Healthy' : 'Unhealthy'}
            </Badge>
          </Group>
        </Group>
        {node.error && (
          <Text size="sm" c="red">
            {node.error}
          </Text>
        )}
        <UsageMeter
          label="CPU reserved"
          used={node.used.cpu}
          total={cpuTotal}
          text={cpuTotal === null ? cores(node.used.cpu) : `${node.used.cpu} of ${cores(cpuTotal)}`}
        />
        <UsageMeter
          label="Memory reserved"
          used={node.used.memoryBytes}
          total={memTotal}
          text={
            memTotal === null
              ? formatBytes(node.used.memoryBytes)
              : `${formatBytes(node.used.memoryBytes)} of ${formatBytes(memTotal)}`
          }
        />
        <UsageMeter
          label="Workspaces"
          used={node.used.workspaces}
          total={node.capacity.maxWorkspaces}
          text={`${node.used.running} running of ${node.used.workspaces}${
            node.capacity.maxWorkspaces === null ? '' : ` (max ${node.capacity.maxWorkspaces})`
          }`}
        />
        <Text size="xs" c="dimmed">
          {limits(node)}
          {node.host
            ? ` Host: ${cores(node.host.cpu)}, ${formatBytes(node.host.memoryBytes)} memory.`
            : ' Host size unknown: its engine did not answer.'}
        </Text>
        {node.daemon && (
          <Text size="xs" c="dimmed">
            {daemonLine(node.daemon)}
          </Text>
        )}
      </Stack>
    </Paper>
  );
}
