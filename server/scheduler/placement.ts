// Which node a new workspace goes to, and why: pure (node states and a request in, a decision and
// its explanation out), so the drivers, the scheduler and a simulator can all call it.
//
// A node offers a capacity in three dimensions (CPU cores, memory, workspaces) and the
// installation's workspaces on it reserve their limits in each. A workspace goes only to a node
// where every dimension still has room for it; it is never over-committed. Among those, `pack`
// (the default) takes the node that is the most allocated after placing it (bin-packing: fill
// one node before the next, so idle nodes stay idle and can be drained), `spread` the least.

export type PlacementStrategy = 'pack' | 'spread';

export const PLACEMENT_STRATEGIES = ['pack', 'spread'] as const satisfies readonly PlacementStrategy[];

/** What a node offers and what the installation's workspaces on it reserve. */
export interface NodeState {
  name: string;
  /** What workspaces may reserve in all; an undefined dimension is not limited (its size is unknown). */
  capacity: { cpu?: number | undefined; memoryBytes?: number | undefined; workspaces?: number | undefined };
  used: { cpu: number; memoryBytes: number; workspaces: number };
  /**
   * Set when the node must receive nothing, as the rest of a sentence after its name: "is
   * cordoned", "does not answer (…)".
   */
  unavailable?: string | undefined;
}

export interface PlacementRequest {
  cpu: number;
  memoryBytes: number;
}

export type PlacementDecision =
  | { node: NodeState; explanation: string }
  | { node: undefined; explanation: string };

export interface PlacementOptions {
  strategy?: PlacementStrategy | undefined;
  /**
   * The nodes are the only ones the workspace may go to, for this reason (a clause after the
   * node's name, e.g. "which holds this workspace's files"); the refusal then says so.
   */
  pinned?: string | undefined;
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;
/** Sums of fractional cores (0.1 + 0.2) must not refuse an exact fit. */
const EPSILON = 1e-9;
/** A refusal names this many nodes at most, then "and N more". */
const MAX_NAMED = 6;

/**
 * A node's capacity: what its config says, else the machine's own size (`host`), and for the
 * workspace count the installation's default (`pooling.maxTasksPerInstance`). A dimension whose
 * size is unknown (no config and no host figure) stays unlimited.
 */
export function capacityOf(
  configured: {
    cpu?: number | undefined;
    memoryBytes?: number | undefined;
    maxWorkspaces?: number | undefined;
  },
  host: { cpu: number; memoryBytes: number } | undefined,
  defaultMaxWorkspaces: number | undefined,
): NodeState['capacity'] {
  return {
    cpu: configured.cpu ?? (host?.cpu || undefined),
    memoryBytes: configured.memoryBytes ?? (host?.memoryBytes || undefined),
    workspaces: configured.maxWorkspaces ?? defaultMaxWorkspaces,
  };
}

/** Whether the node can take `want` without passing its capacity in any dimension. */
export function fits(node: NodeState, want: PlacementRequest): boolean {
  return node.unavailable === undefined && shortOf(node, want).length === 0;
}

/** The dimensions in which `node` has no room for `want`. */
function shortOf(node: NodeState, want: PlacementRequest): Array<'cpu' | 'memory' | 'workspaces'> {
  const { capacity: c, used: u } = node;
  const short: Array<'cpu' | 'memory' | 'workspaces'> = [];
  if (c.cpu !== undefined && u.cpu + want.cpu > c.cpu + EPSILON) short.push('cpu');
  if (c.memoryBytes !== undefined && u.memoryBytes + want.memoryBytes > c.memoryBytes) short.push('memory');
  if (c.workspaces !== undefined && u.workspaces + 1 > c.workspaces) short.push('workspaces');
  return short;
}

/**
 * How allocated the node is after taking `want`: the share of its tightest limited dimension
 * (0 for a node none of whose dimensions is limited).
 */
export function allocatedShare(node: NodeState, want: PlacementRequest): number {
  const { capacity: c, used: u } = node;
  const shares = [0];
  if (c.cpu) shares.push((u.cpu + want.cpu) / c.cpu);
  if (c.memoryBytes) shares.push((u.memoryBytes + want.memoryBytes) / c.memoryBytes);
  if (c.workspaces) shares.push((u.workspaces + 1) / c.workspaces);
  return Math.max(...shares);
}

/**
 * The node for `want` and why, or why none. Among the nodes it fits (available, room in every
 * dimension): `pack` takes the most allocated after placing it, `spread` the least (then the one
 * with fewer workspaces); remaining ties go to the first in the list (config order).
 */
export function place(
  nodes: readonly NodeState[],
  want: PlacementRequest,
  opts: PlacementOptions = {},
): PlacementDecision {
  const strategy = opts.strategy ?? 'pack';
  let best: { node: NodeState; share: number } | undefined;
  let fitting = 0;
  for (const node of nodes) {
    if (!fits(node, want)) continue;
    fitting += 1;
    const share = allocatedShare(node, want);
    if (!best) {
      best = { node, share };
      continue;
    }
    const better =
      strategy === 'pack'
        ? share > best.share + EPSILON
        : share < best.share - EPSILON ||
          (Math.abs(share - best.share) <= EPSILON && node.used.workspaces < best.node.used.workspaces);
    if (better) best = { node, share };
  }
  if (best) return { node: best.node, explanation: placedSentence(best.node, want, strategy, fitting) };
  return { node: undefined, explanation: refusal(nodes, want, opts.pinned) };
}

/** "1 CPU and 4096 MiB": a workspace's size as refusals name it. */
export function describeRequest(want: PlacementRequest): string {
  return `${num(want.cpu)} CPU and ${num(want.memoryBytes / MiB)} MiB`;
}

/** "placed on node b (pack: …): 1.5 of 4 CPU, 2 of 8 GiB memory, 2 of 5 workspaces reserved after this one" */
function placedSentence(
  node: NodeState,
  want: PlacementRequest,
  strategy: PlacementStrategy,
  /** How many nodes had room: the strategy only chose when there were several. */
  candidates: number,
): string {
  const after: NodeState['used'] = {
    cpu: node.used.cpu + want.cpu,
    memoryBytes: node.used.memoryBytes + want.memoryBytes,
    workspaces: node.used.workspaces + 1,
  };
  const { capacity: c } = node;
  const parts = [
    c.cpu === undefined ? `${num(after.cpu)} CPU` : `${num(after.cpu)} of ${num(c.cpu)} CPU`,
    c.memoryBytes === undefined
      ? `${memory(after.memoryBytes, after.memoryBytes)} memory`
      : `${ofMemory(after.memoryBytes, c.memoryBytes)} memory`,
    c.workspaces === undefined
      ? `${after.workspaces} ${after.workspaces === 1 ? 'workspace' : 'workspaces'}`
      : `${after.workspaces} of ${c.workspaces} ${c.workspaces === 1 ? 'workspace' : 'workspaces'}`,
  ];
  const why =
    candidates <= 1
      ? ''
      : strategy === 'pack'
        ? ' (pack: the fullest node with room)'
        : ' (spread: the emptiest node with room)';
  return `Placed on node ${node.name}${why}: ${parts.join(', ')} reserved after this one.`;
}

/** "No node has room for a workspace of 1 CPU and 4096 MiB: local has 1.5 of 2 CPU reserved." */
function refusal(nodes: readonly NodeState[], want: PlacementRequest, pinned: string | undefined): string {
  const size = describeRequest(want);
  if (nodes.length === 0) return `No node has room for a workspace of ${size}: no node is configured.`;
  const reasons = nodes.slice(0, MAX_NAMED).map((n) => `${n.name} ${whyNot(n, want)}`);
  if (nodes.length > MAX_NAMED) reasons.push(`${nodes.length - MAX_NAMED} more are as full`);
  const head =
    pinned !== undefined && nodes.length === 1
      ? `Node ${nodes[0]?.name}, ${pinned}, has no room for a workspace of ${size}`
      : `No node has room for a workspace of ${size}`;
  return `${head}: ${reasons.join('; ')}.`;
}

/** Why `node` cannot take `want`, after its name: "has 1.5 of 2 CPU reserved", "is cordoned". */
function whyNot(node: NodeState, want: PlacementRequest): string {
  if (node.unavailable !== undefined) return node.unavailable;
  const { capacity: c, used: u } = node;
  const short = shortOf(node, want);
  const reserved: string[] = [];
  if (short.includes('cpu') && c.cpu !== undefined) reserved.push(`${num(u.cpu)} of ${num(c.cpu)} CPU`);
  if (short.includes('memory') && c.memoryBytes !== undefined)
    reserved.push(`${ofMemory(u.memoryBytes, c.memoryBytes)} memory`);
  const parts: string[] = [];
  if (reserved.length > 0) parts.push(`has ${reserved.join(' and ')} reserved`);
  if (short.includes('workspaces') && c.workspaces !== undefined)
    parts.push(
      `${parts.length > 0 ? '' : 'has '}${u.workspaces} of ${c.workspaces} ${c.workspaces === 1 ? 'workspace' : 'workspaces'}`,
    );
  return parts.join(' and ');
}

/** Up to two decimals, no trailing zeros. */
function num(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** Bytes in GiB when `scale` is at least 1 GiB, else MiB. */
function memory(bytes: number, scale: number): string {
  return scale >= GiB ? `${num(bytes / GiB)} GiB` : `${num(bytes / MiB)} MiB`;
}

/** "2 of 8 GiB": both figures in the capacity's unit. */
function ofMemory(used: number, capacity: number): string {
  const [unit, name] = capacity >= GiB ? [GiB, 'GiB'] : [MiB, 'MiB'];
  return `${num(used / unit)} of ${num(capacity / unit)} ${name}`;
}
