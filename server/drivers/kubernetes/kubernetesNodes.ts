// The cluster's nodes as GET /api/v1/nodes shows them (NodeReporter): Kubernetes places the pods,
// so these are for looking at, not for placement.
import type { CoreV1Api, V1Node, V1Pod } from '@kubernetes/client-node';
import type { NodeItem } from '../../../sdk/nodeWire.js';
import { apiMessage } from './kubeClient.js';
import { hasFinished, isRunning } from './podState.js';

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("500m", "4Gi", "1e3") as a number; null when absent or not one. */
export function scalar(q: string | undefined): number | null {
  const m = q === undefined ? null : /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q);
  const factor = m ? SUFFIX[m[2] as string] : undefined;
  return m && factor !== undefined ? Number(m[1]) * factor : null;
}

/** What the pod's containers request, in cores and bytes. */
function requests(pod: V1Pod): { cpu: number; memoryBytes: number } {
  let cpu = 0;
  let memoryBytes = 0;
  for (const c of pod.spec?.containers ?? []) {
    cpu += scalar(c.resources?.requests?.cpu) ?? 0;
    memoryBytes += scalar(c.resources?.requests?.memory) ?? 0;
  }
  return { cpu, memoryBytes };
}

/**
 * Every node of the cluster, with its Ready condition, what it can give pods (allocatable) and
 * what this installation's workspace pods on it request. A cluster that does not answer is one
 * unhealthy item named "cluster" with the API's message.
 */
export async function clusterNodes(core: CoreV1Api, pods: V1Pod[], timeoutMs: number): Promise<NodeItem[]> {
  let nodes: V1Node[];
  try {
    nodes = (
      await Promise.race([
        core.listNode(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
        ),
      ])
    ).items;
  } catch (err) {
    return [
      {
        name: 'cluster',
        driver: 'kubernetes',
        healthy: false,
        error: `The Kubernetes API does not answer: ${apiMessage(err)}`,
        capacity: { cpu: null, memoryBytes: null, maxWorkspaces: null },
        host: null,
        used: { cpu: 0, memoryBytes: 0, workspaces: 0, running: 0 },
      },
    ];
  }
  return nodes.map((node) => {
    const name = node.metadata?.name ?? '';
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    const mine = pods.filter((p) => p.spec?.nodeName === name && !hasFinished(p));
    const used = mine.reduce(
      (sum, p) => {
        const r = requests(p);
        return { cpu: sum.cpu + r.cpu, memoryBytes: sum.memoryBytes + r.memoryBytes };
      },
      { cpu: 0, memoryBytes: 0 },
    );
    const cpu = scalar(node.status?.capacity?.cpu);
    const memory = scalar(node.status?.capacity?.memory);
    return {
      name,
      driver: 'kubernetes',
      healthy: ready?.status === 'True',
      ...(ready?.status === 'True'
        ? {}
        : { error: `Node ${name} is not Ready${ready?.message ? `: ${ready.message}` : '.'}` }),
      ...(node.spec?.unschedulable ? { cordoned: true } : {}),
      capacity: {
        cpu: scalar(node.status?.allocatable?.cpu),
        memoryBytes: scalar(node.status?.allocatable?.memory),
        maxWorkspaces: scalar(node.status?.allocatable?.pods),
      },
      host: cpu !== null && memory !== null ? { cpu, memoryBytes: memory } : null,
      used: { ...used, workspaces: mine.length, running: mine.filter(isRunning).length },
    };
  });
}
