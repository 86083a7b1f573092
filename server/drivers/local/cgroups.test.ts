import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DriverError } from '../runtimeDriver.js';
import { openBoxCgroup } from './cgroups.js';

// A temporary directory stands in for /sys/fs/cgroup: the kernel's control files become plain
// files, so these tests see exactly what the driver writes. This host is cgroup v1, so v2 is only
// ever exercised here.
const MiB = 1024 * 1024;
const limits = { cpu: 1.5, memoryBytes: 64 * MiB, pids: 64 };
let root: string;
const read = (...parts: string[]) => readFile(join(root, ...parts), 'utf8');

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'rc-fakecg-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('fake cgroupfs, v2', () => {
  beforeEach(async () => {
    await writeFile(join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    await writeFile(join(root, 'cgroup.subtree_control'), '');
  });

  it('enables the controllers down to the parent and writes the limits into <root>/<parent>/<id>', async () => {
    const cg = await openBoxCgroup(root, 'remote-claude', 'w1');
    expect(cg.version).toBe(2);
    await cg.recreate(limits);
    expect(await read('cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(await read('remote-claude', 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(await read('remote-claude', 'w1', 'memory.max')).toBe(String(64 * MiB));
    expect(await read('remote-claude', 'w1', 'memory.swap.max')).toBe('0');
    expect(await read('remote-claude', 'w1', 'pids.max')).toBe('64');
    expect(await read('remote-claude', 'w1', 'cpu.max')).toBe('150000 100000');
    expect(cg.procsFiles).toEqual([join(root, 'remote-claude', 'w1', 'cgroup.procs')]);
  });

  it('handles a nested parent', async () => {
    const cg = await openBoxCgroup(root, 'rc/boxes', 'w1');
    await cg.recreate(limits);
    expect(await read('rc', 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(await read('rc', 'boxes', 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(await read('rc', 'boxes', 'w1', 'pids.max')).toBe('64');
  });

  it('caps and down-weights the parent when opened with a parent CPU cap', async () => {
    const capped = await openBoxCgroup(root, 'remote-claude', 'w1', 1.5);
    await capped.recreate(limits);
    expect(await read('remote-claude', 'cpu.weight')).toBe('25');
    expect(await read('remote-claude', 'cpu.max')).toBe('150000 100000');
    await capped.applyParentLimits(undefined);
    expect(await read('remote-claude', 'cpu.max')).toBe('max 100000');
  });

  it('updates limits in place', async () => {
    const cg = await openBoxCgroup(root, 'remote-claude', 'w1');
    await cg.recreate(limits);
    await cg.applyLimits({ cpu: 0.25, memoryBytes: 128 * MiB, pids: 10 });
    expect(await read('remote-claude', 'w1', 'memory.max')).toBe(String(128 * MiB));
    expect(await read('remote-claude', 'w1', 'cpu.max')).toBe('25000 100000');
    expect(await read('remote-claude', 'w1', 'pids.max')).toBe('10');
  });

  it('reads usage, processes and OOM kills from the v2 files', async () => {
    const cg = await openBoxCgroup(root, 'remote-claude', 'w1');
    expect(await cg.exists()).toBe(false);
    expect(await cg.pids()).toEqual([]);
    await cg.recreate(limits);
    const dir = join(root, 'remote-claude', 'w1');
    await writeFile(join(dir, 'cgroup.procs'), '12\n34\n');
    await writeFile(join(dir, 'memory.current'), '1048576\n');
    await writeFile(join(dir, 'cpu.stat'), 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n');
    await writeFile(join(dir, 'pids.current'), '2\n');
    await writeFile(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n');
    expect(await cg.exists()).toBe(true);
    expect(await cg.pids()).toEqual([12, 34]);
    expect(await cg.usage()).toEqual({ memoryBytes: 1048576, cpuSeconds: 2.5, pids: 2 });
    expect(await cg.oomKills()).toBe(1);
  });

  it('explains what to do when the controllers cannot be enabled', async () => {
    await rm(join(root, 'cgroup.subtree_control'));
    await mkdir(join(root, 'cgroup.subtree_control'));
    const cg = await openBoxCgroup(root, 'remote-claude', 'w1');
    const err = await cg.recreate(limits).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).userMessage).toMatch(/controllers cannot be enabled in .*Delegate=yes/);
  });
});

describe('fake cgroupfs, v1', () => {
  beforeEach(async () => {
    for (const c of ['memory', 'pids', 'cpu', 'cpuacct']) await mkdir(join(root, c));
  });

  it('writes the limits into each controller and joins all four', async () => {
    const cg = await openBoxCgroup(root, 'remote-claude', 'w1');
    expect(cg.version).toBe(1);
    // Swap accounting on: the kernel would have created memsw with "no limit".
    await mkdir(join(root, 'memory', 'remote-claude', 'w1'), { recursive: true });
    await writeFile(
      join(root, 'memory', 'remote-claude', 'w1', 'memory.memsw.limit_in_bytes'),
      '9223372036854771712',
    );
    await cg.recreate(limits);
    expect(await read('memory', 'remote-claude', 'w1', 'memory.limit_in_bytes')).toBe(String(64 * MiB));
    expect(await read('memory', 'remote-claude', 'w1', 'memory.memsw.limit_in_bytes')).toBe(String(64 * MiB));
    expect(await read('pids', 'remote-claude', 'w1', 'pids.max')).toBe('64');
    expect(await read('cpu', 'remote-claude', 'w1', 'cpu.cfs_period_us')).toBe('100000');
    expect(await read('cpu', 'remote-claude', 'w1', 'cpu.cfs_quota_us')).toBe('150000');
    expect(cg.procsFiles).toEqual(
      ['memory', 'pids', 'cpu', 'cpuacct'].map((c) => join(root, c, 'remote-claude', 'w1', 'cgroup.procs')),
    );
  });

  it('caps and down-weights the parent cpu cgroup when opened with a parent CPU cap', async () => {
    const cg = await openBoxCgroup(root, 'remote-claude', 'w1', 1.5);
    await cg.recreate(limits);
    expect(await read('cpu', 'remote-claude', 'cpu.shares')).toBe('256');
    expect(await read('cpu', 'remote-claude', 'cpu.cfs_quota_us')).toBe('150000');
    await cg.applyParentLimits(undefined);
    expect(await read('cpu', 'remote-claude', 'cpu.cfs_quota_us')).toBe('-1');
  });

  it('reads usage and OOM kills from the v1 files', async () => {
    const cg = await openBoxCgroup(root, 'remote-claude', 'w1');
    await cg.recreate(limits);
    const at = (c: string, f: string) => join(root, c, 'remote-claude', 'w1', f);
    await writeFile(at('memory', 'memory.usage_in_bytes'), '4096\n');
    await writeFile(at('cpuacct', 'cpuacct.usage'), '1500000000\n');
    await writeFile(at('pids', 'pids.current'), '3\n');
    await writeFile(at('memory', 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    expect(await cg.usage()).toEqual({ memoryBytes: 4096, cpuSeconds: 1.5, pids: 3 });
    expect(await cg.oomKills()).toBe(2);
  });

  it('refuses a host without the controllers', async () => {
    await rm(join(root, 'pids'), { recursive: true });
    await expect(openBoxCgroup(root, 'remote-claude', 'w1')).rejects.toMatchObject({ reason: 'unavailable' });
  });
});
