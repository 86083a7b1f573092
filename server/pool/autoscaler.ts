// The instance pool's autoscaler, as a pure function of (the pool, what waits for room, the clock)
// → actions, with seed 000's knobs (`pooling.*`). No I/O and no clock of its own: the pool pass
// applies its actions through a node provider, and the simulator (poolSim.ts) runs the very same
// function on a virtual clock.
//
// Utilisation is reserved capacity over node capacity in the tightest dimension (CPU, memory or
// workspace slots), over the nodes that take workspaces (ready or booting, not cordoned).
//
// - Up: when workspaces wait for room that the pool (booting nodes counted) cannot give, enough
//   nodes to hold them — a cordoned node is taken back first; when utilisation passes
//   scaleUpThreshold, enough nodes to bring it back to targetUtilization; below minInstances, up to
//   it. Never above maxInstances. Not held back by the cooldown: a waiting task must not wait for it.
// - Down, only by draining: a node below scaleDownThreshold whose load the other nodes hold within
//   targetUtilization is cordoned (it takes no new workspace; its workspaces stop when they idle,
//   as ever); a cordoned node that has held no workspace for idleTimeout is removed. Never below
//   minInstances, and neither within cooldownPeriod of the last scaling action.

export interface Room {
  cpu: number;
  memoryBytes: number;
  workspaces: number;
}

export interface PoolLimits {
  minInstances: number;
  maxInstances: number;
  targetUtilization: number;
  scaleUpThreshold: number;
  scaleDownThreshold: number;
  cooldownMs: number;
  idleTimeoutMs: number;
}

export interface PoolNode {
  name: string;
  /** booting: asked for, not joined yet; ready: takes workspaces; cordoned: takes none, drains. */
  state: 'booting' | 'ready' | 'cordoned';
  capacity: Room;
  reserved: Room;
  /** Since when it has held no workspace; undefined while it holds one. */
  emptySinceMs?: number | undefined;
}

/** A workspace start that found no node with room, and since when it waits. */
export interface WaitingStart {
  sinceMs: number;
  cpu: number;
  memoryBytes: number;
}

export interface AutoscalerInput {
  nowMs: number;
  nodes: readonly PoolNode[];
  waiting: readonly WaitingStart[];
  /** The capacity of one node the provider adds. */
  newNode: Room;
  limits: PoolLimits;
  /** When the pool last grew or shrank (an add or a remove); undefined: never. */
  lastScaleMs?: number | undefined;
}

export type PoolAction =
  | { kind: 'add'; count: number; reason: string }
  | { kind: 'uncordon'; node: string; reason: string }
  | { kind: 'cordon'; node: string; reason: string }
  | { kind: 'remove'; node: string; reason: string };

const pct = (x: number) => `${Math.round(x * 100)} %`;
const DIMENSIONS = ['cpu', 'memoryBytes', 'workspaces'] as const;

/** Reserved over capacity in the tightest dimension; 0 for no capacity. */
export function utilisation(nodes: readonly PoolNode[]): number {
  let worst = 0;
  for (const d of DIMENSIONS) {
    let reserved = 0;
    let capacity = 0;
    for (const n of nodes) {
      reserved += n.reserved[d];
      capacity += n.capacity[d];
    }
    if (capacity > 0) worst = Math.max(worst, reserved / capacity);
  }
  return worst;
}

const free = (n: PoolNode): Room => ({
  cpu: n.capacity.cpu - n.reserved.cpu,
  memoryBytes: n.capacity.memoryBytes - n.reserved.memoryBytes,
  workspaces: n.capacity.workspaces - n.reserved.workspaces,
});

const fits = (room: Room, w: WaitingStart) =>
  room.workspaces >= 1 && room.cpu + 1e-9 >= w.cpu && room.memoryBytes >= w.memoryBytes;

const take = (room: Room, w: WaitingStart) => {
  room.cpu -= w.cpu;
  room.memoryBytes -= w.memoryBytes;
  room.workspaces -= 1;
};

/** First fit, biggest first: the starts that `rooms` cannot hold (the rooms are used up). */
function unplaced(rooms: Room[], waiting: readonly WaitingStart[]): WaitingStart[] {
  const left: WaitingStart[] = [];
  for (const w of [...waiting].sort((a, b) => b.cpu - a.cpu || b.memoryBytes - a.memoryBytes)) {
    const room = rooms.find((r) => fits(r, w));
    if (room) take(room, w);
    else left.push(w);
  }
  return left;
}

export function autoscale(input: AutoscalerInput): PoolAction[] {
  const { nowMs, limits, newNode } = input;
  const actions: PoolAction[] = [];
  const taking = input.nodes.filter((n) => n.state !== 'cordoned');
  const cordoned = input.nodes.filter((n) => n.state === 'cordoned');
  let total = input.nodes.length;
  const room = Math.max(0, limits.maxInstances - total);

  // Up, for what waits: what the nodes taking workspaces cannot hold goes to cordoned nodes taken
  // back (busiest first: they are the likeliest to stay), then to new nodes.
  let unmet = unplaced(taking.map(free), input.waiting);
  if (unmet.length > 0) {
    for (const n of [...cordoned].sort((a, b) => b.reserved.cpu - a.reserved.cpu)) {
      if (unmet.length === 0) break;
      const before = unmet.length;
      unmet = unplaced([free(n)], unmet);
      if (unmet.length < before) {
        taking.push(n);
        actions.push({
          kind: 'uncordon',
          node: n.name,
          reason: `${before} workspace start${before === 1 ? '' : 's'} wait for room: node ${n.name} takes workspaces again`,
        });
      }
    }
  }
  const waitingAdds = unmet.length === 0 ? 0 : newNodesFor(unmet, newNode);
  const util = utilisation(taking);
  let add = 0;
  let why = '';
  if (waitingAdds > 0) {
    add = waitingAdds;
    const oldest = Math.max(0, Math.round((nowMs - Math.min(...unmet.map((w) => w.sinceMs))) / 1000));
    why = `${unmet.length} workspace start${unmet.length === 1 ? '' : 's'} wait for room (the oldest ${oldest} s)`;
  } else if (util > limits.scaleUpThreshold && taking.length > 0) {
    add = Math.max(1, nodesForTarget(taking, limits.targetUtilization, newNode) - taking.length);
    why = `utilisation ${pct(util)} is above pooling.scaling.scaleUpThreshold (${pct(limits.scaleUpThreshold)})`;
  }
  if (total + add < limits.minInstances) {
    add = limits.minInstances - total;
    why = `the pool has ${total} of pooling.minInstances ${limits.minInstances} nodes`;
  }
  if (add > 0) {
    const count = Math.min(add, room);
    if (count > 0) {
      actions.push({
        kind: 'add',
        count,
        reason: `${why}: adding ${count} node${count === 1 ? '' : 's'}${count < add ? ` (${add} wanted; pooling.maxInstances is ${limits.maxInstances})` : ''}`,
      });
      total += count;
    }
  }
  if (actions.length > 0) return actions;

  // Down, by draining, outside the cooldown.
  if (input.lastScaleMs !== undefined && nowMs - input.lastScaleMs < limits.cooldownMs) return actions;
  for (const n of cordoned) {
    if (total <= limits.minInstances) break;
    if (n.reserved.workspaces > 0 || n.emptySinceMs === undefined) continue;
    const idle = nowMs - n.emptySinceMs;
    if (idle < limits.idleTimeoutMs) continue;
    actions.push({
      kind: 'remove',
      node: n.name,
      reason: `node ${n.name} is drained and has held no workspace for ${Math.round(idle / 60_000)} min (pooling.idleTimeout ${Math.round(limits.idleTimeoutMs / 60_000)} min)`,
    });
    total -= 1;
  }
  // A node is drained when its own utilisation is below scaleDownThreshold and the others hold
  // what the pool reserves within targetUtilization (cluster-autoscaler's rule, with seed 000's
  // knobs). The least-used such node first; one per look, so the pool shrinks step by step.
  const ready = taking.filter((n) => n.state === 'ready');
  let pick: PoolNode | undefined;
  for (const n of ready) {
    const own = share(n);
    if (own >= limits.scaleDownThreshold) continue;
    if (pick === undefined || own <= share(pick)) pick = n;
  }
  if (pick !== undefined && total > limits.minInstances) {
    const rest = taking.filter((n) => n !== pick);
    const after = utilisationOf(taking, rest);
    if (rest.length > 0 && after <= limits.targetUtilization) {
      const holds = pick.reserved.workspaces;
      actions.push({
        kind: 'cordon',
        node: pick.name,
        reason: `node ${pick.name} is at ${pct(share(pick))}, below pooling.scaling.scaleDownThreshold (${pct(limits.scaleDownThreshold)}), and the other nodes hold the pool's load at ${pct(after)} (targetUtilization ${pct(limits.targetUtilization)}): draining it (${holds} workspace${holds === 1 ? '' : 's'} on it)`,
      });
    }
  }
  return actions;
}

/**
 * The baseline the simulator compares with: target tracking as ECS managed scaling does it, with
 * the capacity provider's reservation held at `target` (100 % by default; lower keeps spare nodes).
 * The pool is sized to (the nodes that hold workspaces plus what the waiting starts need) over the
 * target; it adds at once, and removes a node (with no
 * workspace: managed termination protection) once it has been empty for `scaleInAfterMs` (the
 * 15 one-minute datapoints of its scale-in alarm). No draining, no cooldown of our own.
 */
export function targetTracking(
  input: AutoscalerInput,
  opts: { target?: number; scaleInAfterMs?: number } = {},
): PoolAction[] {
  const target = opts.target ?? 1;
  const scaleInAfterMs = opts.scaleInAfterMs ?? 15 * 60_000;
  const { nowMs, limits } = input;
  const taking = input.nodes.filter((n) => n.state !== 'cordoned');
  const unmet = unplaced(taking.map(free), input.waiting);
  const holding = taking.filter((n) => n.reserved.workspaces > 0).length;
  const desired = Math.min(
    limits.maxInstances,
    Math.max(
      limits.minInstances,
      Math.ceil((holding + (unmet.length > 0 ? newNodesFor(unmet, input.newNode) : 0)) / target - 1e-9),
    ),
  );
  if (desired > taking.length) {
    const count = desired - taking.length;
    return [{ kind: 'add', count, reason: `capacity reservation above 100 %: adding ${count}` }];
  }
  const actions: PoolAction[] = [];
  let total = taking.length;
  for (const n of taking) {
    if (total <= desired) break;
    if (n.state !== 'ready' || n.reserved.workspaces > 0 || n.emptySinceMs === undefined) continue;
    if (nowMs - n.emptySinceMs < scaleInAfterMs) continue;
    actions.push({ kind: 'remove', node: n.name, reason: 'capacity reservation below 100 %' });
    total -= 1;
  }
  return actions;
}

/** What all of `nodes` reserve, over the capacity of `on` only, in the tightest dimension. */
function utilisationOf(nodes: readonly PoolNode[], on: readonly PoolNode[]): number {
  let worst = 0;
  for (const d of DIMENSIONS) {
    const reserved = nodes.reduce((a, n) => a + n.reserved[d], 0);
    const capacity = on.reduce((a, n) => a + n.capacity[d], 0);
    if (capacity > 0) worst = Math.max(worst, reserved / capacity);
    else if (reserved > 0) return Number.POSITIVE_INFINITY;
  }
  return worst;
}

/** A node's own utilisation (its tightest dimension). */
const share = (n: PoolNode) => utilisation([n]);

/** How many new nodes hold the starts (first fit, biggest first); a start no node could hold counts none. */
function newNodesFor(waiting: readonly WaitingStart[], size: Room): number {
  const rooms: Room[] = [];
  for (const w of [...waiting].sort((a, b) => b.cpu - a.cpu || b.memoryBytes - a.memoryBytes)) {
    if (!fits({ ...size }, w)) continue;
    let room = rooms.find((r) => fits(r, w));
    if (!room) {
      room = { ...size };
      rooms.push(room);
    }
    take(room, w);
  }
  return rooms.length;
}

/** Nodes of `size` needed so that what `nodes` reserve is `target` of their capacity. */
function nodesForTarget(nodes: readonly PoolNode[], target: number, size: Room): number {
  let need = 0;
  for (const d of DIMENSIONS) {
    const reserved = nodes.reduce((a, n) => a + n.reserved[d], 0);
    if (size[d] > 0) need = Math.max(need, Math.ceil(reserved / (target * size[d]) - 1e-9));
  }
  return need;
}
