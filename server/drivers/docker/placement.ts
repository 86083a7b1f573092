// Which Docker node a new workspace goes to: the one with the most free reserved capacity. A
// stand-in until the scheduler issue brings real packing; kept pure so it is easy to replace.

/** What a node offers and what the installation's workspaces on it reserve. */
export interface NodeLoad {
  name: string;
  /** Configured limits; an unset one is not enforced. */
  capacity: {
    cpu?: number | undefined;
    memoryBytes?: number | undefined;
    maxWorkspaces?: number | undefined;
  };
  /** The machine's own size, when known; ranks nodes in dimensions without a configured limit. */
  host?: { cpu: number; memoryBytes: number } | undefined;
  used: { cpu: number; memoryBytes: number; workspaces: number };
}

export interface Request {
  cpu: number;
  memoryBytes: number;
}

/** Whether the node can take `want` without passing a configured limit. */
export function fits(node: NodeLoad, want: Request): boolean {
  const { capacity: c, used: u } = node;
  if (c.maxWorkspaces !== undefined && u.workspaces + 1 > c.maxWorkspaces) return false;
  if (c.cpu !== undefined && u.cpu + want.cpu > c.cpu + 1e-9) return false;
  if (c.memoryBytes !== undefined && u.memoryBytes + want.memoryBytes > c.memoryBytes) return false;
  return true;
}

/**
 * The fraction of the node still free after placing `want`, in its tightest dimension: configured
 * limits first, else the machine's size. 1 for a node about which nothing is known.
 */
export function freeShare(node: NodeLoad, want: Request): number {
  const { capacity: c, used: u } = node;
  const cpu = c.cpu ?? node.host?.cpu;
  const memory = c.memoryBytes ?? node.host?.memoryBytes;
  const shares: number[] = [];
  if (cpu) shares.push((cpu - u.cpu - want.cpu) / cpu);
  if (memory) shares.push((memory - u.memoryBytes - want.memoryBytes) / memory);
  if (c.maxWorkspaces) shares.push((c.maxWorkspaces - u.workspaces - 1) / c.maxWorkspaces);
  return shares.length > 0 ? Math.min(...shares) : 1;
}

/**
 * The node to place `want` on: among those it fits, the most free share, then the fewest
 * workspaces, then the first in config order. Undefined when no node has room.
 */
export function pickNode(nodes: readonly NodeLoad[], want: Request): NodeLoad | undefined {
  let best: { node: NodeLoad; share: number } | undefined;
  for (const node of nodes) {
    if (!fits(node, want)) continue;
    const share = freeShare(node, want);
    if (
      !best ||
      share > best.share + 1e-9 ||
      (Math.abs(share - best.share) <= 1e-9 && node.used.workspaces < best.node.used.workspaces)
    ) {
      best = { node, share };
    }
  }
  return best?.node;
}
