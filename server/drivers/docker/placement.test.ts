import { describe, expect, it } from 'vitest';
import { fits, type NodeLoad, pickNode } from './placement.js';

const GiB = 2 ** 30;
const node = (
  name: string,
  capacity: NodeLoad['capacity'],
  used: Partial<NodeLoad['used']> = {},
): NodeLoad => ({
  name,
  capacity,
  host: { cpu: 8, memoryBytes: 32 * GiB },
  used: { cpu: 0, memoryBytes: 0, workspaces: 0, ...used },
});
const want = { cpu: 1, memoryBytes: 2 * GiB };

describe('placement', () => {
  it('picks the node with the most free share in its tightest dimension', () => {
    const a = node('a', { memoryBytes: 8 * GiB }, { memoryBytes: 4 * GiB, workspaces: 2 });
    const b = node('b', { memoryBytes: 8 * GiB }, { memoryBytes: 2 * GiB, workspaces: 1 });
    expect(pickNode([a, b], want)?.name).toBe('b');
  });

  it('skips a full node and refuses when none fits', () => {
    const full = node('full', { maxWorkspaces: 1 }, { workspaces: 1 });
    const small = node('small', { cpu: 0.5 });
    expect(fits(full, want)).toBe(false);
    expect(fits(small, want)).toBe(false);
    expect(pickNode([full, small], want)).toBeUndefined();
    expect(pickNode([full, node('free', { maxWorkspaces: 1 })], want)?.name).toBe('free');
  });

  it('does not enforce a dimension without a configured capacity, but ranks by the host size', () => {
    const busy = node('busy', {}, { cpu: 100, memoryBytes: 30 * GiB, workspaces: 10 });
    expect(fits(busy, want)).toBe(true);
    expect(pickNode([busy, node('idle', {})], want)?.name).toBe('idle');
  });

  it('breaks ties by fewer workspaces, then config order', () => {
    expect(pickNode([node('a', {}), node('b', {})], want)?.name).toBe('a');
    const unknown = (name: string, workspaces: number): NodeLoad => ({
      name,
      capacity: {},
      used: { cpu: 0, memoryBytes: 0, workspaces },
    });
    expect(pickNode([unknown('a', 3), unknown('b', 1)], want)?.name).toBe('b');
  });
});
