import { describe, expect, it } from 'vitest';
import { capacityOf, fits, type NodeState, type PlacementRequest, place } from './placement.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const node = (
  name: string,
  capacity: NodeState['capacity'],
  used: Partial<NodeState['used']> = {},
  unavailable?: string,
): NodeState => ({
  name,
  capacity,
  used: { cpu: 0, memoryBytes: 0, workspaces: 0, ...used },
  ...(unavailable === undefined ? {} : { unavailable }),
});
const want: PlacementRequest = { cpu: 1, memoryBytes: 2 * GiB };
const small = { cpu: 4, memoryBytes: 8 * GiB, workspaces: 5 };

/** Places `count` workspaces one after another, adding each to its node; the names chosen, "-" for a refusal. */
function run(nodes: NodeState[], count: number, strategy: 'pack' | 'spread' = 'pack', w = want) {
  const chosen: string[] = [];
  const sentences: string[] = [];
  for (let i = 0; i < count; i++) {
    const d = place(nodes, w, { strategy });
    sentences.push(d.explanation);
    if (!d.node) {
      chosen.push('-');
      continue;
    }
    chosen.push(d.node.name);
    d.node.used.cpu += w.cpu;
    d.node.used.memoryBytes += w.memoryBytes;
    d.node.used.workspaces += 1;
  }
  return { chosen, sentences };
}

describe('placement', () => {
  it('packs: fills the most allocated node first, then the next, then refuses with the sentence', () => {
    const a = node('a', { cpu: 2, memoryBytes: 8 * GiB, workspaces: 5 });
    const b = node('b', { cpu: 2, memoryBytes: 8 * GiB, workspaces: 5 });
    const { chosen, sentences } = run([a, b], 5);
    expect(chosen).toEqual(['a', 'a', 'b', 'b', '-']);
    expect(sentences[4]).toBe(
      'No node has room for a workspace of 1 CPU and 2048 MiB: a has 2 of 2 CPU reserved; b has 2 of 2 CPU reserved.',
    );
    expect(a.used).toEqual({ cpu: 2, memoryBytes: 4 * GiB, workspaces: 2 });
  });

  it('packs onto the fuller node even when it is listed last', () => {
    const empty = node('empty', small);
    const half = node('half', small, { cpu: 2, memoryBytes: 2 * GiB, workspaces: 2 });
    expect(place([empty, half], want).node?.name).toBe('half');
    // Spread takes the emptiest instead.
    expect(place([empty, half], want, { strategy: 'spread' }).node?.name).toBe('empty');
  });

  it('spreads: alternates between equal nodes, ties to the one with fewer workspaces, then config order', () => {
    const a = node('a', { cpu: 2, memoryBytes: 8 * GiB, workspaces: 5 });
    const b = node('b', { cpu: 2, memoryBytes: 8 * GiB, workspaces: 5 });
    expect(run([a, b], 5, 'spread').chosen).toEqual(['a', 'b', 'a', 'b', '-']);
    const unlimited = (name: string, workspaces: number) => node(name, {}, { workspaces });
    expect(place([unlimited('x', 3), unlimited('y', 1)], want, { strategy: 'spread' }).node?.name).toBe('y');
    expect(place([unlimited('x', 3), unlimited('y', 1)], want).node?.name).toBe('x');
  });

  it('never goes over capacity in any dimension, for any mix of sizes', () => {
    const sizes: PlacementRequest[] = [
      { cpu: 0.5, memoryBytes: 512 * MiB },
      { cpu: 1.5, memoryBytes: 1 * GiB },
      { cpu: 0.25, memoryBytes: 3 * GiB },
      { cpu: 1, memoryBytes: 256 * MiB },
    ];
    for (const strategy of ['pack', 'spread'] as const) {
      const nodes = [
        node('a', { cpu: 2, memoryBytes: 4 * GiB, workspaces: 3 }),
        node('b', { cpu: 3, memoryBytes: 2 * GiB, workspaces: 5 }),
        node('c', { cpu: 1, memoryBytes: 8 * GiB, workspaces: 2 }),
      ];
      let placed = 0;
      for (let i = 0; i < 60; i++) {
        const w = sizes[i % sizes.length] as PlacementRequest;
        const d = place(nodes, w, { strategy });
        if (!d.node) continue;
        placed += 1;
        d.node.used.cpu += w.cpu;
        d.node.used.memoryBytes += w.memoryBytes;
        d.node.used.workspaces += 1;
      }
      expect(placed).toBeGreaterThan(3);
      for (const n of nodes) {
        expect(n.used.cpu, `${strategy} ${n.name} cpu`).toBeLessThanOrEqual((n.capacity.cpu ?? 0) + 1e-9);
        expect(n.used.memoryBytes, `${strategy} ${n.name} memory`).toBeLessThanOrEqual(
          n.capacity.memoryBytes ?? 0,
        );
        expect(n.used.workspaces, `${strategy} ${n.name} workspaces`).toBeLessThanOrEqual(
          n.capacity.workspaces ?? 0,
        );
      }
    }
  });

  it('takes an exact fit of fractional cores', () => {
    const n = node('a', { cpu: 0.3 }, { cpu: 0.1 + 0.1 });
    expect(fits(n, { cpu: 0.1, memoryBytes: 0 })).toBe(true);
    expect(fits(n, { cpu: 0.11, memoryBytes: 0 })).toBe(false);
  });

  it('enforces the workspace count (maxTasksPerInstance when the node sets none) and names it', () => {
    const cap = capacityOf({}, { cpu: 8, memoryBytes: 32 * GiB }, 2);
    expect(cap).toEqual({ cpu: 8, memoryBytes: 32 * GiB, workspaces: 2 });
    expect(capacityOf({ maxWorkspaces: 3, cpu: 1 }, { cpu: 8, memoryBytes: 32 * GiB }, 2)).toEqual({
      cpu: 1,
      memoryBytes: 32 * GiB,
      workspaces: 3,
    });
    // A host that reports no memory leaves memory unlimited rather than full.
    expect(capacityOf({}, { cpu: 2, memoryBytes: 0 }, undefined)).toEqual({
      cpu: 2,
      memoryBytes: undefined,
      workspaces: undefined,
    });
    const full = node('n', cap, { cpu: 2, memoryBytes: 4 * GiB, workspaces: 2 });
    expect(place([full], want).explanation).toBe(
      'No node has room for a workspace of 1 CPU and 2048 MiB: n has 2 of 2 workspaces.',
    );
  });

  it('names every dimension a node lacks', () => {
    const n = node(
      'b',
      { cpu: 4, memoryBytes: 8 * GiB, workspaces: 3 },
      { cpu: 3.5, memoryBytes: 7 * GiB, workspaces: 3 },
    );
    expect(place([n], want).explanation).toBe(
      'No node has room for a workspace of 1 CPU and 2048 MiB: b has 3.5 of 4 CPU and 7 of 8 GiB memory reserved and 3 of 3 workspaces.',
    );
    const tiny = node('t', { memoryBytes: 512 * MiB }, { memoryBytes: 300 * MiB });
    expect(place([tiny], { cpu: 1, memoryBytes: 256 * MiB }).explanation).toBe(
      'No node has room for a workspace of 1 CPU and 256 MiB: t has 300 of 512 MiB memory reserved.',
    );
  });

  it('explains a placement with what the node reserves after it', () => {
    const a = node('a', small);
    const b = node('b', small, { cpu: 0.5, memoryBytes: 0, workspaces: 1 });
    expect(place([a, b], want).explanation).toBe(
      'Placed on node b (pack: the fullest node with room): 1.5 of 4 CPU, 2 of 8 GiB memory, 2 of 5 workspaces reserved after this one.',
    );
    // With one node that has room there was no choice to explain.
    expect(place([node('full', small, { cpu: 4 }), b], want).explanation).toBe(
      'Placed on node b: 1.5 of 4 CPU, 2 of 8 GiB memory, 2 of 5 workspaces reserved after this one.',
    );
    expect(place([a, b], want, { strategy: 'spread' }).explanation).toMatch(
      /^Placed on node a \(spread: the emptiest node with room\): 1 of 4 CPU, /,
    );
    expect(place([node('u', {})], want).explanation).toBe(
      'Placed on node u: 1 CPU, 2 GiB memory, 1 workspace reserved after this one.',
    );
  });

  it('gives a cordoned or unreachable node nothing, however empty, and says why', () => {
    const cordoned = node('a', small, {}, 'is cordoned (nodes[].cordoned)');
    const down = node('b', small, {}, 'does not answer (Docker node b did not answer within 30 s)');
    const busy = node('c', small, { cpu: 3.5 });
    expect(fits(cordoned, want)).toBe(false);
    expect(place([cordoned, down, busy], want)).toEqual({
      node: undefined,
      explanation:
        'No node has room for a workspace of 1 CPU and 2048 MiB: a is cordoned (nodes[].cordoned); ' +
        'b does not answer (Docker node b did not answer within 30 s); c has 3.5 of 4 CPU reserved.',
    });
    const free = node('d', small);
    for (const strategy of ['pack', 'spread'] as const) {
      expect(place([cordoned, down, free], want, { strategy }).node?.name).toBe('d');
    }
  });

  it('says which node a pinned workspace must go to, and caps long lists', () => {
    const holder = node('b', { cpu: 1 }, { cpu: 1 });
    expect(place([holder], want, { pinned: "which holds this workspace's files" }).explanation).toBe(
      "Node b, which holds this workspace's files, has no room for a workspace of 1 CPU and 2048 MiB: b has 1 of 1 CPU reserved.",
    );
    const many = Array.from({ length: 8 }, (_, i) => node(`n${i}`, { workspaces: 1 }, { workspaces: 1 }));
    expect(place(many, want).explanation).toMatch(/n5 has 1 of 1 workspace; 2 more are as full\.$/);
    expect(place([], want).explanation).toBe(
      'No node has room for a workspace of 1 CPU and 2048 MiB: no node is configured.',
    );
  });
});
